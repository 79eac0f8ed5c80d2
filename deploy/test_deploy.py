"""Fast checks of the deployment files (no AWS, no Docker, no image build):
  - deploy/template.yaml parses (with CloudFormation's short tags), has the bucket's four
    Block Public Access switches, encryption, the lifecycle rules, the function from the image,
    and identity policies equal to `sparkify policy` (also after substituting a real bucket);
  - deploy/Dockerfile states the same run configuration as deploy/image/image.conf (which
    build-image.sh uses) and the same recipe files;
  - the image's file list holds the model and the binary and no secrets; nothing in the
    Dockerfile or its build context brings credentials in;
  - packages.txt covers every library sparkify-ai links (so the recipe follows the code).
Binaries from SPARKIFY_BIN (sparkify) and SPARKIFY_AI_BIN (sparkify-ai), as ctest sets them.
"""
import json
import os
import re
import shlex
import subprocess
import sys
import unittest

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGE = os.path.join(HERE, "image")
SPARKIFY = os.environ.get("SPARKIFY_BIN", os.path.join(os.path.dirname(HERE), "build", "sparkify"))
SPARKIFY_AI = os.environ.get("SPARKIFY_AI_BIN", os.path.join(os.path.dirname(SPARKIFY), "sparkify-ai"))


# --- CloudFormation's short tags, kept as data so the test can look inside.
class Tag:
    def __init__(self, name, value):
        self.name, self.value = name, value

    def __repr__(self):
        return "!%s %r" % (self.name, self.value)


class CfnLoader(yaml.SafeLoader):
    pass


def _construct(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return Tag(suffix, value)


CfnLoader.add_multi_constructor("!", _construct)


def load_template():
    with open(os.path.join(HERE, "template.yaml")) as f:
        return yaml.load(f, Loader=CfnLoader)


def substitute(value, names):
    """Resolves !Sub strings with `names` (placeholder -> text); other tags stay as they are."""
    if isinstance(value, Tag) and value.name == "Sub" and isinstance(value.value, str):
        text = value.value
        for placeholder, replacement in names.items():
            text = text.replace("${%s}" % placeholder, replacement)
        return text
    if isinstance(value, dict):
        return {k: substitute(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, names) for v in value]
    return value


def sparkify_policy(principal, bucket, function_arn=None):
    cmd = [SPARKIFY, "policy", "--principal", principal, "--bucket", bucket]
    if function_arn:
        cmd += ["--function-arn", function_arn]
    return json.loads(subprocess.check_output(cmd, text=True))


# --- Secrets: paths that must never be in the image.
SECRET = re.compile(r"(^|/)(\.aws|\.ssh|\.gnupg|\.docker)(/|$)"
                    r"|(^|/)(credentials(\.json)?|\.netrc|\.env|id_rsa|id_ed25519|id_ecdsa)$"
                    r"|\.(pem|key|p12|pfx|jks)$"
                    r"|(^|/)etc/ssl/private/."
                    r"|(^|/)iam/users/")


def secret_paths(paths):
    return [p for p in paths if SECRET.search(p)]


def recipe_lines(name):
    with open(os.path.join(IMAGE, name)) as f:
        return [l.strip() for l in f if l.strip() and not l.lstrip().startswith("#")]


def image_conf():
    conf = {}
    for line in recipe_lines("image.conf"):
        key, _, value = line.partition("=")
        conf[key] = " ".join(shlex.split(value))
    return conf


class TemplateTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.t = load_template()
        cls.res = cls.t["Resources"]

    def test_parses_as_a_sam_template(self):
        self.assertEqual(self.t["AWSTemplateFormatVersion"], "2010-09-09")
        self.assertEqual(self.t["Transform"], "AWS::Serverless-2016-10-31")
        for name, r in self.res.items():
            self.assertRegex(r["Type"], r"^AWS::[A-Za-z0-9]+::[A-Za-z0-9]+$", name)
        # Every !Ref / !GetAtt / ${X} names a parameter, a resource or a pseudo parameter.
        known = set(self.t["Parameters"]) | set(self.res) | {"AWS::StackName", "AWS::Region",
                                                             "AWS::AccountId", "AWS::Partition",
                                                             "AWS::NoValue"}

        def walk(v):
            if isinstance(v, Tag):
                if v.name == "Ref":
                    self.assertIn(v.value, known)
                elif v.name == "GetAtt":
                    self.assertIn(v.value.split(".")[0], self.res)
                elif v.name == "Sub":
                    for ref in re.findall(r"\$\{([^}!]+)\}", v.value):
                        self.assertIn(ref.split(".")[0], known, v.value)
                walk(v.value)
            elif isinstance(v, dict):
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        walk(self.res)
        walk(self.t["Outputs"])

    def test_bucket_is_private_encrypted_and_expires_old_uploads(self):
        props = self.res["Bucket"]["Properties"]
        self.assertEqual(props["PublicAccessBlockConfiguration"],
                         {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                          "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
        sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        self.assertIn(sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"], ("AES256", "aws:kms"))
        rules = {r.get("Prefix"): r for r in props["LifecycleConfiguration"]["Rules"]}
        for prefix in ("uploads/", "collages/", "jobs/"):
            self.assertEqual(rules[prefix]["Status"], "Enabled")
            self.assertIn("ExpirationInDays", rules[prefix])
        self.assertNotIn("cutouts/", rules, "cut-outs are content-addressed and reused")
        self.assertEqual(props["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
                         "BucketOwnerEnforced")

    def test_bucket_cors_lets_the_web_origin_post_forms_as_sparkify_up_does(self):
        cors = self.res["Bucket"]["Properties"]["CorsConfiguration"]
        self.assertEqual(cors.name, "If")
        condition, rules, otherwise = cors.value
        self.assertEqual(condition, "HasWebOrigin")
        self.assertEqual((otherwise.name, otherwise.value), ("Ref", "AWS::NoValue"))
        rule = rules["CorsRules"][0]
        self.assertEqual([(o.name, o.value) for o in rule["AllowedOrigins"]],
                         [("Ref", "WebOrigin")])
        # The rule `sparkify store --cors-origin` puts (store::AllowBrowserUploads).
        self.assertEqual(rule["AllowedMethods"], ["GET", "HEAD", "POST"])
        self.assertEqual(rule["AllowedHeaders"], ["*"])
        self.assertEqual(rule["ExposedHeaders"], ["ETag"])
        self.assertEqual(rule["MaxAge"], 600)
        pattern = re.compile(self.t["Parameters"]["WebOrigin"]["AllowedPattern"])
        for good in ("", "https://collage.example", "http://127.0.0.1:8080"):
            self.assertTrue(pattern.match(good), good)
        for bad in ("collage.example", "https://a.example/path", "https://*.example", "*"):
            self.assertFalse(pattern.match(bad), bad)

    def test_function_runs_the_image_with_its_role_and_no_credentials(self):
        fn = self.res["Function"]
        self.assertEqual(fn["Type"], "AWS::Serverless::Function")
        p = fn["Properties"]
        self.assertEqual(p["PackageType"], "Image")
        self.assertEqual(p["Architectures"], ["x86_64"])
        self.assertEqual(p["ImageUri"].name, "Ref")
        self.assertEqual(p["Role"].value, "FunctionRole.Arn")
        self.assertEqual(p["MemorySize"].value, "MemorySize")
        self.assertEqual(p["Timeout"].value, "Timeout")
        env = p["Environment"]["Variables"]
        self.assertEqual(env["SPARKIFY_BUCKET"].value, "Bucket")
        for name in env:
            self.assertFalse(name.startswith("AWS_"), "Lambda sets the role's credentials")
        trust = self.res["FunctionRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        self.assertEqual(trust, [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                  "Principal": {"Service": "lambda.amazonaws.com"}}])
        self.assertNotIn("ManagedPolicyArns", self.res["FunctionRole"]["Properties"])
        for name in ("FunctionName", "FunctionArn", "BucketName", "WebUserName"):
            self.assertIn(name, self.t["Outputs"])

    def identity_policy(self, resource, name):
        for p in self.res[resource]["Properties"]["Policies"]:
            if p["PolicyName"] == name:
                return p["PolicyDocument"]
        self.fail("%s has no policy %s" % (resource, name))

    def test_policies_equal_sparkify_policy(self):
        placeholders = {"Bucket": "${Bucket}", "Function.Arn": "${Function.Arn}"}
        fn = substitute(self.identity_policy("FunctionRole", "sparkify-function-bucket"), placeholders)
        web = substitute(self.identity_policy("WebUser", "sparkify-web"), placeholders)
        self.assertEqual(fn, sparkify_policy("function", "${Bucket}"))
        self.assertEqual(web, sparkify_policy("web", "${Bucket}", "${Function.Arn}"))

    def test_policies_equal_sparkify_policy_for_a_real_bucket(self):
        arn = "arn:aws:lambda:eu-west-1:123456789012:function:sparkify-function"
        names = {"Bucket": "sparkify-prod-bucket", "Function.Arn": arn}
        fn = substitute(self.identity_policy("FunctionRole", "sparkify-function-bucket"), names)
        web = substitute(self.identity_policy("WebUser", "sparkify-web"), names)
        self.assertEqual(fn, sparkify_policy("function", "sparkify-prod-bucket"))
        self.assertEqual(web, sparkify_policy("web", "sparkify-prod-bucket", arn))
        text = json.dumps([fn, web])
        self.assertNotIn("${", text)
        self.assertNotIn("s3:ListBucket", text)
        self.assertNotIn("s3:DeleteObject", text)

    def test_the_logs_grant_is_the_only_other_one(self):
        policies = self.res["FunctionRole"]["Properties"]["Policies"]
        self.assertEqual([p["PolicyName"] for p in policies],
                         ["sparkify-function-bucket", "sparkify-function-logs"])
        logs = policies[1]["PolicyDocument"]["Statement"]
        self.assertEqual(len(logs), 1)
        self.assertEqual(sorted(logs[0]["Action"]), ["logs:CreateLogStream", "logs:PutLogEvents"])
        self.assertEqual(logs[0]["Resource"].value, "${FunctionLogGroup.Arn}")

    def test_generated_blocks_are_up_to_date(self):
        out = subprocess.run([sys.executable, os.path.join(HERE, "sync-policies.py"), "--check",
                              "--sparkify", SPARKIFY], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)


class DockerfileTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        with open(os.path.join(HERE, "Dockerfile")) as f:
            text = f.read().replace("\\\n", " ")
        cls.lines = [l.strip() for l in text.splitlines() if l.strip() and not l.startswith("#")]
        final = max(i for i, l in enumerate(cls.lines) if l.startswith("FROM "))
        cls.final = cls.lines[final:]

    def instruction(self, name):
        return [l[len(name) + 1:].strip() for l in self.final if l.startswith(name + " ")]

    def test_runs_on_slim_debian_12_and_builds_on_debian_12(self):
        args = {l.split()[1].split("=")[0]: l.split("=", 1)[1] for l in self.lines
                if l.startswith("ARG ") and "=" in l}
        self.assertEqual(args["DEBIAN"], "debian:12")
        self.assertEqual(args["DEBIAN_SLIM"], "debian:12-slim")
        self.assertEqual(self.final[0], "FROM ${DEBIAN_SLIM}")
        self.assertEqual(self.instruction("COPY"), ["--from=stage /out/ /"])
        self.assertEqual(self.instruction("RUN"), [], "the final stage adds exactly one layer")

    def test_run_configuration_matches_image_conf(self):
        conf = image_conf()
        self.assertEqual(self.instruction("USER"), [conf["IMAGE_USER"]])
        self.assertNotIn(conf["IMAGE_USER"].split(":")[0], ("0", "root"))
        self.assertEqual(self.instruction("WORKDIR"), [conf["IMAGE_WORKDIR"]])
        self.assertEqual(self.instruction("EXPOSE"), [conf["IMAGE_PORT"]])
        self.assertEqual(json.loads(self.instruction("ENTRYPOINT")[0]),
                         conf["IMAGE_ENTRYPOINT"].split())
        env = " ".join(self.instruction("ENV")).split()
        self.assertEqual(sorted(env), sorted(conf["IMAGE_ENV"].split()))
        self.assertIn("SPARKIFY_LISTEN=0.0.0.0:8080", env)

    def test_uses_the_shared_recipe(self):
        text = "\n".join(self.lines)
        for name in ("assemble.sh", "packages.txt", "files.txt", "stubs.txt", "make-stubs.sh",
                     "build-packages.txt"):
            self.assertIn("deploy/image/" + name, text)
        self.assertIn("assemble.sh install", text)
        self.assertIn("assemble.sh collect", text)
        with open(os.path.join(HERE, "build-image.sh")) as f:
            builder = f.read()
        for name in ("assemble.sh", "packages.txt", "files.txt", "stubs.txt", "make-stubs.sh",
                     "image.conf", "assemble.sh install", "assemble.sh collect"):
            self.assertIn(name, builder)

    def test_no_credentials_in_the_dockerfile_or_its_context(self):
        for l in self.lines:
            if l.startswith(("ENV ", "ARG ")):
                self.assertNotRegex(l, r"AWS_(ACCESS_KEY|SECRET|SESSION)|SECRET|PASSWORD|TOKEN", l)
        with open(os.path.join(HERE, "Dockerfile.dockerignore")) as f:
            ignored = {l.strip() for l in f if l.strip() and not l.startswith("#")}
        for must in (".git", "build", "build-*", "**/.aws", "**/credentials.json"):
            self.assertIn(must, ignored)


class ImageFilesTest(unittest.TestCase):

    def test_files_list_holds_the_model_and_the_binary_and_no_secrets(self):
        entries = [l.split() for l in recipe_lines("files.txt")]
        dests = [e[0] for e in entries]
        for want in ("/opt/sparkify/model/model.sgraph", "/opt/sparkify/model/manifest.json",
                     "/opt/sparkify/model/LICENSE.md", "/opt/sparkify/bin/sparkify-ai"):
            self.assertIn(want, dests)
        self.assertEqual(secret_paths(dests + [e[2] for e in entries]), [])
        for dest, mode, source in entries:
            self.assertRegex(source, r"^(in|root):/?[A-Za-z0-9_./-]+$")
            self.assertIn(mode, ("0644", "0755"), dest)
        # The manifest the image's environment names is the one files.txt installs.
        env = dict(kv.split("=", 1) for kv in image_conf()["IMAGE_ENV"].split())
        self.assertIn(env["SPARKIFY_MODEL"], dests)

    def test_secret_detector_catches_the_usual_suspects(self):
        bad = ["/root/.aws/credentials", "/home/u/.ssh/id_rsa", "/opt/x/server.key",
               "/etc/ssl/private/ssl-cert-snakeoil.key", "/data/iam/users/web/credentials.json",
               "/app/.env", "/root/.docker/config.json"]
        good = ["/opt/sparkify/model/model.sgraph", "/etc/ssl/certs/ca-certificates.crt",
                "/usr/lib/x86_64-linux-gnu/libapt-private.so.0.0", "/usr/share/keyrings/debian-archive-keyring.gpg"]
        self.assertEqual(secret_paths(bad), bad)
        self.assertEqual(secret_paths(good), [])

    def test_packages_cover_every_library_sparkify_ai_links(self):
        base = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}  # in debian:12-slim
        wanted = set(recipe_lines("packages.txt"))
        out = subprocess.check_output(["readelf", "-d", SPARKIFY_AI], text=True)
        for soname in re.findall(r"\(NEEDED\).*\[(.*)\]", out):
            path = subprocess.check_output(["sh", "-c", "ldconfig -p | awk -v n=%s '$1 == n && /x86-64/ {print $NF; exit}'"
                                            % shlex.quote(soname)], text=True).strip()
            self.assertTrue(path, soname)
            owner = subprocess.run(["dpkg", "-S", os.path.realpath(path)], capture_output=True,
                                   text=True)
            if owner.returncode != 0:
                owner = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
            package = owner.stdout.split(":")[0]
            self.assertTrue(package in wanted or package in base,
                            "%s (%s) is not in deploy/image/packages.txt" % (soname, package))

    def test_stubbed_libraries_are_not_ones_the_binary_links_directly(self):
        stubbed = {l.split()[0] for l in recipe_lines("stubs.txt")}
        out = subprocess.check_output(["readelf", "-d", SPARKIFY_AI], text=True)
        self.assertEqual(stubbed & set(re.findall(r"\(NEEDED\).*\[(.*)\]", out)), set())


if __name__ == "__main__":
    unittest.main(verbosity=2)
