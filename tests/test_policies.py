"""Who may do what, end to end: users made with `sparkify user create --policy`, their identity
policies enforced on real boto3 calls, live policy edits, bucket policies, and Block Public
Access keeping anonymous callers out."""
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support.clients import boto3_client, error_code, isolate_aws_config  # noqa: E402
from support.store import StoreTestCase, clean_env, main, poll, require, sparkify_binary  # noqa: E402

try:
    from botocore import UNSIGNED
    from botocore.exceptions import ClientError
    HAVE_BOTO3 = True
except ImportError:
    HAVE_BOTO3 = False


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(actions, resources, **extra):
    return dict(Effect="Allow", Action=actions, Resource=resources, **extra)


def deny(actions, resources, **extra):
    return dict(Effect="Deny", Action=actions, Resource=resources, **extra)


class PolicyTest(StoreTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        isolate_aws_config(cls.tmp.path)
        cls.root = boto3_client(cls.store.endpoint, *cls.store.root)
        b = cls.bucket = cls.unique("pol")
        cls.root.create_bucket(Bucket=b)
        for key in ["ro/obj", "public/x", "secret/y", "shared/z", "other/w"]:
            cls.root.put_object(Bucket=b, Key=key, Body=("body of " + key).encode())
        objects, bucket_arn = "arn:aws:s3:::%s/*" % b, "arn:aws:s3:::%s" % b
        cls.users = {}
        for name, doc in [
            ("reader", policy(allow(["s3:GetObject", "s3:ListBucket"], [bucket_arn, objects]))),
            ("getonly", policy(allow("s3:GetObject", objects))),
            ("getlist", policy(allow("s3:GetObject", objects), allow("s3:ListBucket", bucket_arn))),
            # Deny first: statement order must not matter.
            ("fenced", policy(deny(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::%s/secret/*" % b),
                              allow("s3:*", [bucket_arn, objects]))),
            ("editable", policy(allow("s3:GetObject", objects))),
            ("tlsonly", policy(allow("s3:GetObject", objects,
                                     Condition={"Bool": {"aws:SecureTransport": "true"}}))),
            ("loopback", policy(allow("s3:GetObject", objects,
                                      Condition={"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}))),
            ("nobody", policy(allow("s3:ListAllMyBuckets", "*"))),
            # AWS's documented pattern: deny uploads that do not ask for SSE-S3.
            ("mustencrypt", policy(
                allow(["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"], objects),
                deny("s3:PutObject", objects,
                     Condition={"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}}),
                deny("s3:PutObject", objects,
                     Condition={"Null": {"s3:x-amz-server-side-encryption": "true"}}))),
        ]:
            cls.users[name] = cls.create_user(name, doc)
        cls.clients = {n: boto3_client(cls.store.endpoint, c["access_key_id"], c["secret_access_key"])
                       for n, c in cls.users.items()}
        # Users made while the store runs appear within a second or two: wait for every key.
        for name, client in cls.clients.items():
            poll(lambda c=client: cls.key_known(c), timeout=10, what="user %s to be known" % name)

    @classmethod
    def create_user(cls, name, doc):
        path = cls.tmp.join("policy-%s.json" % name)
        with open(path, "w") as f:
            json.dump(doc, f)
        out = subprocess.run([sparkify_binary(), "user", "create", name, "--data",
                              cls.store.data_dir, "--policy", path],
                             capture_output=True, text=True, env=clean_env(), timeout=30)
        if out.returncode != 0:
            raise AssertionError("sparkify user create %s: %s" % (name, out.stderr))
        creds = json.loads(out.stdout)
        assert creds["user"] == name and creds["access_key_id"] and creds["secret_access_key"]
        return creds

    @classmethod
    def key_known(cls, client):
        try:
            client.list_buckets()
        except ClientError as e:
            return error_code(e) != "InvalidAccessKeyId"
        return True

    def assertDenied(self, fn, code="AccessDenied", status=403, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(Bucket=kw.pop("Bucket", self.bucket), **kw)
        self.assertEqual(error_code(cm.exception), code, cm.exception.response)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], status)

    def get(self, user, key):
        return self.clients[user].get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def test_read_only_user(self):
        c = self.clients["reader"]
        self.assertEqual(self.get("reader", "ro/obj"), b"body of ro/obj")
        c.head_object(Bucket=self.bucket, Key="ro/obj")
        self.assertIn("ro/obj", [o["Key"] for o in c.list_objects_v2(Bucket=self.bucket)["Contents"]])
        self.assertDenied(c.put_object, Key="ro/obj", Body=b"overwrite")
        self.assertDenied(c.put_object, Key="ro/new", Body=b"new")
        self.assertDenied(c.delete_object, Key="ro/obj")
        self.assertDenied(c.create_multipart_upload, Key="ro/mp")
        self.assertDenied(c.copy_object, Key="ro/copy", CopySource={"Bucket": self.bucket, "Key": "ro/obj"})
        self.assertDenied(c.create_bucket, Bucket=self.unique("nope"))
        out = c.delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": "ro/obj"}]})
        self.assertEqual([e["Code"] for e in out.get("Errors", [])], ["AccessDenied"])
        self.assertEqual(self.get("reader", "ro/obj"), b"body of ro/obj")
        # A URL presigned by a key without the right is refused like the key itself.
        url = c.generate_presigned_url("put_object", Params={"Bucket": self.bucket, "Key": "ro/obj"})
        req = urllib.request.Request(url, data=b"sneaky", method="PUT")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req, timeout=30)
        self.assertEqual(cm.exception.code, 403)
        self.assertIn(b"<Code>AccessDenied</Code>", cm.exception.read())

    def test_missing_key_is_403_without_list_bucket_and_404_with_it(self):
        self.assertEqual(self.get("getonly", "ro/obj"), b"body of ro/obj")
        self.assertDenied(self.clients["getonly"].get_object, Key="ro/missing")
        self.assertDenied(self.clients["getonly"].head_object, Key="ro/missing", code="403")
        self.assertDenied(self.clients["getonly"].list_objects_v2)
        self.assertDenied(self.clients["getlist"].get_object, Key="ro/missing", code="NoSuchKey",
                          status=404)
        self.assertDenied(self.clients["getlist"].head_object, Key="ro/missing", code="404",
                          status=404)

    def test_deny_on_prefix_beats_allow(self):
        c = self.clients["fenced"]
        self.assertEqual(self.get("fenced", "public/x"), b"body of public/x")
        c.put_object(Bucket=self.bucket, Key="public/new", Body=b"allowed")
        self.assertDenied(c.get_object, Key="secret/y")
        self.assertDenied(c.head_object, Key="secret/y", code="403")
        self.assertDenied(c.put_object, Key="secret/new", Body=b"denied")
        self.assertDenied(c.copy_object, Key="public/copy", CopySource={"Bucket": self.bucket, "Key": "secret/y"})
        url = c.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": "secret/y"})
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(url, timeout=30)
        self.assertEqual(cm.exception.code, 403)

    def test_a_policy_can_require_encrypted_uploads(self):
        c = self.clients["mustencrypt"]
        self.assertDenied(c.put_object, Key="public/plain", Body=b"x")
        self.assertDenied(c.put_object, Key="public/kms", Body=b"x", ServerSideEncryption="aws:kms",
                          code="NotImplemented", status=501)
        put = c.put_object(Bucket=self.bucket, Key="public/sealed", Body=b"sealed",
                           ServerSideEncryption="AES256")
        self.assertEqual(put["ServerSideEncryption"], "AES256")
        self.assertEqual(self.get("mustencrypt", "public/sealed"), b"sealed")
        self.assertDenied(c.create_multipart_upload, Key="public/mp")
        c.abort_multipart_upload(
            Bucket=self.bucket, Key="public/mp",
            UploadId=c.create_multipart_upload(Bucket=self.bucket, Key="public/mp",
                                               ServerSideEncryption="AES256")["UploadId"])

    def test_conditions_on_transport_and_source_ip(self):
        self.assertDenied(self.clients["tlsonly"].get_object, Key="ro/obj")  # this is plain HTTP
        self.assertEqual(self.get("loopback", "ro/obj"), b"body of ro/obj")

    def test_policy_edit_on_disk_takes_effect_without_restart(self):
        c = self.clients["editable"]
        path = os.path.join(self.store.data_dir, "iam", "users", "editable", "policy.json")
        self.assertTrue(os.path.exists(path), os.listdir(os.path.dirname(path)))
        self.assertDenied(c.put_object, Key="edit/one", Body=b"1")

        def put_allowed():
            try:
                c.put_object(Bucket=self.bucket, Key="edit/one", Body=b"1")
                return True
            except ClientError as e:
                if error_code(e) != "AccessDenied":
                    raise
                return False

        objects = "arn:aws:s3:::%s/*" % self.bucket
        with open(path, "w") as f:  # edited in place, as a person with an editor would
            json.dump(policy(allow(["s3:GetObject", "s3:PutObject"], objects)), f, indent=2)
        poll(put_allowed, timeout=5, interval=0.1, what="the widened policy to apply")
        with open(path, "w") as f:
            json.dump(policy(allow("s3:GetObject", objects)), f)
        poll(lambda: not put_allowed(), timeout=5, interval=0.1, what="the narrowed policy to apply")
        self.assertEqual(self.get("editable", "edit/one"), b"1")

    def test_bucket_policy_grants_a_named_user(self):
        arn = "arn:aws:iam::000000000000:user/nobody"
        self.assertDenied(self.clients["nobody"].get_object, Key="shared/z")
        doc = policy(dict(Effect="Allow", Principal={"AWS": arn}, Action="s3:GetObject",
                          Resource="arn:aws:s3:::%s/shared/*" % self.bucket))
        self.root.put_bucket_policy(Bucket=self.bucket, Policy=json.dumps(doc))
        try:
            self.assertEqual(json.loads(self.root.get_bucket_policy(Bucket=self.bucket)["Policy"]), doc)
            self.assertEqual(self.get("nobody", "shared/z"), b"body of shared/z")
            self.assertDenied(self.clients["nobody"].get_object, Key="other/w")
        finally:
            self.root.delete_bucket_policy(Bucket=self.bucket)
        self.assertDenied(self.clients["nobody"].get_object, Key="shared/z")

    def test_anonymous_is_always_denied(self):
        pab = self.root.get_public_access_block(Bucket=self.bucket)["PublicAccessBlockConfiguration"]
        self.assertEqual(pab, {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                               "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
        public = policy(dict(Effect="Allow", Principal="*", Action="s3:GetObject",
                             Resource="arn:aws:s3:::%s/*" % self.bucket))
        self.assertDenied(self.root.put_bucket_policy, Policy=json.dumps(public))
        self.assertDenied(self.root.get_bucket_policy, code="NoSuchBucketPolicy", status=404)
        self.assertDenied(self.root.put_object, Key="acl/public", Body=b"x", ACL="public-read")
        anonymous = boto3_client(self.store.endpoint, None, None, signature_version=UNSIGNED)
        self.assertDenied(anonymous.get_object, Key="public/x")
        self.assertDenied(anonymous.get_object, Key="public/missing")
        self.assertDenied(anonymous.put_object, Key="public/anon", Body=b"x")
        self.assertDenied(anonymous.list_objects_v2)
        self.assertDenied(anonymous.head_object,
                          Key="public/x", code="403")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen("%s/%s/public/x" % (self.store.endpoint, self.bucket), timeout=30)
        self.assertEqual(cm.exception.code, 403)

    def test_public_only_with_block_public_access_turned_off(self):
        # What the README says: unsigned requests are refused unless the owner turns Block Public
        # Access off for the bucket and gives it a public policy; turned on again, they are not.
        bucket = "public-" + self.bucket
        self.root.create_bucket(Bucket=bucket)
        self.root.put_object(Bucket=bucket, Key="open/x", Body=b"for everyone")
        url = "%s/%s/open/x" % (self.store.endpoint, bucket)
        off = {"BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
               "RestrictPublicBuckets": False}
        public = policy(dict(Effect="Allow", Principal="*", Action="s3:GetObject",
                             Resource="arn:aws:s3:::%s/open/*" % bucket))
        try:
            self.root.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=off)
            self.root.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public))
            with urllib.request.urlopen(url, timeout=30) as r:
                self.assertEqual(r.read(), b"for everyone")
            on = {k: True for k in off}
            self.root.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=on)
            with self.assertRaises(urllib.error.HTTPError) as cm:
                urllib.request.urlopen(url, timeout=30)
            self.assertEqual(cm.exception.code, 403)
        finally:
            self.root.delete_bucket_policy(Bucket=bucket)
            self.root.delete_object(Bucket=bucket, Key="open/x")
            self.root.delete_bucket(Bucket=bucket)


if __name__ == "__main__":
    require(HAVE_BOTO3, "boto3 is not importable by %s" % sys.executable)
    main()
