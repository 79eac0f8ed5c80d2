"""Fast checks of the deployment files (no AWS, no Docker, no image build):
  - deploy/template.yaml parses (with CloudFormation's short tags), has the bucket's four
    Block Public Access switches, encryption, the lifecycle rules, the function from the image,
    and identity policies equal to `sparkify policy` (also after substituting a real bucket);
  - its web tier (ECS Fargate behind a load balancer) exists only with WebImageUri, and its
    roles, security groups, secrets and settings are what README says, evaluated for several
    parameter sets; cfn-lint passes where it is installed;
  - deploy/Dockerfile's two images state the same run configurations as deploy/image/image.conf
    (the function's, the default target) and image-web.conf (target web), which build-image.sh
    uses, and the same recipe files;
  - the function image's file list holds the model and the binary, the web image's the binary
    and the samples but no model, neither any secret; nothing in the Dockerfile or its build
    context brings credentials in;
  - packages.txt covers every library sparkify-ai links (so the recipe follows the code).
Binaries from SPARKIFY_BIN (sparkify) and SPARKIFY_AI_BIN (sparkify-ai), as ctest sets them.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
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


# --- The template evaluated as CloudFormation would, for given parameter values.
PSEUDO = {"AWS::StackName", "AWS::StackId", "AWS::Region", "AWS::AccountId", "AWS::Partition",
          "AWS::NoValue"}
NO_VALUE = object()
WEB_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sparkify-web:v1"
STACK_ID = ("arn:aws:cloudformation:eu-west-1:123456789012:stack/sparkify/"
            "51af3dc0-da77-11e4-872e-1234567db123")
ALB_DNS = "sparkify-web-51af3dc0-1234567890.eu-west-1.elb.amazonaws.com"
# The web tier with the least it needs, and with everything.
# The trust both web roles have: ECS tasks, nothing else.
ECS_TASKS_MAY_ASSUME = [{"Effect": "Allow", "Action": "sts:AssumeRole",
                         "Principal": {"Service": "ecs-tasks.amazonaws.com"}}]
WEB = {"WebImageUri": WEB_IMAGE, "VpcId": "vpc-0123456789abcdef0",
       "SubnetIds": "subnet-0123456789abcdef0,subnet-0123456789abcdef1"}
WEB_FULL = dict(WEB, WebOrigin="https://collage.example", CreateWebUser="false",
                CertificateArn="arn:aws:acm:eu-west-1:123456789012:certificate/0123abcd-0123-4567-89ab-0123456789ab",
                SpotifyClientId="0123abcd",
                SpotifyClientSecretArn="arn:aws:secretsmanager:eu-west-1:123456789012:secret:sparkify/spotify-AbCdEf")


class Cfn:
    """Evaluates intrinsic functions (Ref, GetAtt, Sub, Select, Split, Join, If, conditions,
    rules' Contains) with `params` over the parameters' defaults. Only the taken branch of an
    If is evaluated, as CloudFormation does; AWS::NoValue drops the item. A resource's Ref is
    "<Ref X>", its attributes "<X.Attr>", except the load balancer's DNS name (ALB_DNS); naming
    a resource the parameters leave out fails."""

    def __init__(self, template, params=None):
        self.t = template
        self.params = {k: p.get("Default") for k, p in template["Parameters"].items()}
        self.params.update(params or {})
        for k, p in template["Parameters"].items():
            if p["Type"] == "CommaDelimitedList":
                self.params[k] = str(self.params[k]).split(",")
        self.pseudo = {"AWS::StackName": "sparkify", "AWS::StackId": STACK_ID,
                       "AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012",
                       "AWS::Partition": "aws"}
        self.conditions = {}

    def condition(self, name):
        if name not in self.conditions:
            self.conditions[name] = self.eval(self.t["Conditions"][name])
        return self.conditions[name]

    def exists(self, section, name):
        item = self.t[section][name]
        return "Condition" not in item or self.condition(item["Condition"])

    def created(self, section="Resources"):
        return {name: self.eval(item) for name, item in self.t[section].items()
                if self.exists(section, name)}

    def failed_rules(self):
        failed = []
        for rule in self.t["Rules"].values():
            if "RuleCondition" in rule and not self.eval(rule["RuleCondition"]):
                continue
            failed += [a["AssertDescription"] for a in rule["Assertions"] if not self.eval(a["Assert"])]
        return failed

    def ref(self, name):
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.params:
            return self.params[name]
        assert self.exists("Resources", name), "Ref %s, a resource not created" % name
        return "<Ref %s>" % name

    def getatt(self, path):
        assert self.exists("Resources", path.split(".")[0]), "GetAtt %s, a resource not created" % path
        return ALB_DNS if path == "WebLoadBalancer.DNSName" else "<%s>" % path

    def eval(self, v):
        if isinstance(v, dict) and len(v) == 1 and next(iter(v)).startswith("Fn::"):
            key = next(iter(v))
            v = Tag(key[4:], v[key])
        if isinstance(v, Tag):
            name, arg = v.name, v.value
            if name == "Ref":
                return self.ref(arg)
            if name == "GetAtt":
                return self.getatt(arg)
            if name == "Condition":
                return self.condition(arg)
            if name == "If":
                return self.eval(arg[1] if self.condition(arg[0]) else arg[2])
            if name == "Sub":
                text, names = (arg, {}) if isinstance(arg, str) else (arg[0], self.eval(arg[1]))

                def one(m):
                    key = m.group(1)
                    if key.startswith("!"):
                        return "${" + key[1:] + "}"
                    if key in names:
                        return str(names[key])
                    return str(self.getatt(key) if "." in key else self.ref(key))
                return re.sub(r"\$\{([^}]+)\}", one, text)
            a = self.eval(arg)
            ops = {"Equals": lambda: a[0] == a[1], "Not": lambda: not a[0],
                   "And": lambda: all(a), "Or": lambda: any(a), "Contains": lambda: a[1] in a[0],
                   "Select": lambda: a[1][int(a[0])], "Split": lambda: a[1].split(a[0]),
                   "Join": lambda: a[0].join(a[1])}
            return ops[name]()
        if isinstance(v, dict):
            out = {k: self.eval(x) for k, x in v.items()}
            return {k: x for k, x in out.items() if x is not NO_VALUE}
        if isinstance(v, list):
            return [x for x in (self.eval(x) for x in v) if x is not NO_VALUE]
        return v


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


def image_conf(name="image.conf"):
    conf = {}
    for line in recipe_lines(name):
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
        # Every !Ref / !GetAtt / ${X} names a parameter, a resource or a pseudo parameter, and
        # every condition a resource, an output or !If names is declared (cfn-lint's checks,
        # which need no network; CfnLintTest runs cfn-lint itself where it is installed).
        known = set(self.t["Parameters"]) | set(self.res) | PSEUDO
        conditions = set(self.t["Conditions"])

        def walk(v, local=()):
            if isinstance(v, Tag):
                if v.name == "Ref":
                    self.assertIn(v.value, known)
                elif v.name == "GetAtt":
                    self.assertIn(v.value.split(".")[0], self.res)
                elif v.name == "Sub":
                    text, names = (v.value, {}) if isinstance(v.value, str) else v.value
                    for ref in re.findall(r"\$\{([^}!]+)\}", text):
                        if ref not in names:
                            self.assertIn(ref.split(".")[0], known, text)
                    walk(names)
                    return
                elif v.name in ("If", "Condition"):
                    self.assertIn(v.value[0] if v.name == "If" else v.value, conditions)
                walk(v.value)
            elif isinstance(v, dict):
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        walk(self.res)
        walk(self.t["Outputs"])
        walk(self.t["Conditions"])
        walk(self.t["Rules"])
        for section in ("Resources", "Outputs"):
            for name, item in self.t[section].items():
                if "Condition" in item:
                    self.assertIn(item["Condition"], conditions, name)

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
        self.assertEqual(condition, "HasCors")
        self.assertEqual((otherwise.name, otherwise.value), ("Ref", "AWS::NoValue"))
        rule = rules["CorsRules"][0]
        # WebOrigin, else (web tier on) the load balancer's own address; no rule otherwise.
        for params, origins in (({}, None),
                                ({"WebOrigin": "https://collage.example"}, ["https://collage.example"]),
                                ({"WebImageUri": WEB_IMAGE}, ["http://" + ALB_DNS]),
                                ({"WebImageUri": WEB_IMAGE, "WebOrigin": "https://collage.example"},
                                 ["https://collage.example"])):
            got = Cfn(self.t, params).eval(cors)
            self.assertEqual(None if got is NO_VALUE else got["CorsRules"][0]["AllowedOrigins"],
                             origins, params)
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
        self.assertEqual(env["SPARKIFY_HUGE_PAGES"].value, "HugePages")
        self.assertEqual(env["GLIBC_TUNABLES"].name, "If")
        self.assertEqual(env["GLIBC_TUNABLES"].value,
                         ["SmallPages", "glibc.malloc.hugetlb=0", "glibc.malloc.hugetlb=1"])
        self.assertEqual(self.t["Parameters"]["HugePages"]["AllowedValues"], ["on", "off"])
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
        web = substitute(self.res["WebPolicy"]["Properties"]["PolicyDocument"], placeholders)
        self.assertEqual(fn, sparkify_policy("function", "${Bucket}"))
        self.assertEqual(web, sparkify_policy("web", "${Bucket}", "${Function.Arn}"))

    def test_policies_equal_sparkify_policy_for_a_real_bucket(self):
        arn = "arn:aws:lambda:eu-west-1:123456789012:function:sparkify-function"
        names = {"Bucket": "sparkify-prod-bucket", "Function.Arn": arn}
        fn = substitute(self.identity_policy("FunctionRole", "sparkify-function-bucket"), names)
        web = substitute(self.res["WebPolicy"]["Properties"]["PolicyDocument"], names)
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


class WebTierTest(unittest.TestCase):
    """The web app on ECS Fargate behind an Application Load Balancer, on with WebImageUri."""

    FUNCTION_ONLY = {"Bucket", "BucketPolicy", "FunctionLogGroup", "FunctionRole", "Function"}

    @classmethod
    def setUpClass(cls):
        cls.t = load_template()
        cls.res = cls.t["Resources"]

    def container(self, params=WEB):
        return Cfn(self.t, params).created()["WebTaskDefinition"]["Properties"]["ContainerDefinitions"][0]

    def test_the_web_tier_is_off_without_web_image_uri(self):
        for name, r in self.res.items():
            if name.startswith("Web") and name not in ("WebPolicy", "WebUser"):
                self.assertIn(r.get("Condition"), ("HasWebTier", "HasCertificate"), name)
        # The defaults deploy what the template deployed before: the function's resources and
        # the web app's IAM user (with the web policy); CreateWebUser=false leaves those out.
        self.assertEqual(set(Cfn(self.t).created()), self.FUNCTION_ONLY | {"WebPolicy", "WebUser"})
        self.assertEqual(set(Cfn(self.t, {"CreateWebUser": "false"}).created()), self.FUNCTION_ONLY)
        self.assertEqual(set(Cfn(self.t).created("Outputs")),
                         {"FunctionName", "FunctionArn", "FunctionRoleArn", "BucketName",
                          "WebUserName", "WebUserArn"})
        web = Cfn(self.t, WEB)
        self.assertEqual({n for n in self.res if not web.exists("Resources", n)}, {"WebHttpsListener"})
        self.assertEqual(set(Cfn(self.t, WEB_FULL).created()),
                         set(self.res) - {"WebUser"})
        for name in ("WebUrl", "WebServiceName", "WebTaskRoleArn", "WebClusterName"):
            self.assertIn(name, web.created("Outputs"))

    def test_every_deployment_resolves_and_the_rules_ask_for_what_is_missing(self):
        for params in ({}, {"CreateWebUser": "false"}, WEB, WEB_FULL,
                       dict(WEB, WebOrigin="http://collage.example")):
            cfn = Cfn(self.t, params)
            self.assertEqual(cfn.failed_rules(), [], params)
            cfn.created(), cfn.created("Outputs")  # names no resource it leaves out
        self.assertEqual(Cfn(self.t, {"WebImageUri": WEB_IMAGE}).failed_rules(),
                         ["WebImageUri needs VpcId",
                          "WebImageUri needs SubnetIds (public subnets of VpcId in at least two "
                          "Availability Zones)"])
        self.assertEqual(len(Cfn(self.t, dict(WEB, CertificateArn=WEB_FULL["CertificateArn"])).failed_rules()), 1)
        # Spotify needs its secret, and https (it redirects to http only on loopback).
        self.assertEqual(len(Cfn(self.t, dict(WEB, SpotifyClientId="0123abcd")).failed_rules()), 2)
        self.assertEqual(Cfn(self.t, dict(WEB, SpotifyClientId="0123abcd",
                                          SpotifyClientSecretArn=WEB_FULL["SpotifyClientSecretArn"])
                             ).failed_rules(),
                         ["SpotifyClientId needs CertificateArn (and WebOrigin), since Spotify "
                          "redirects only to https"])
        pattern = re.compile(self.t["Parameters"]["WebImageUri"]["AllowedPattern"])
        for good in ("", WEB_IMAGE, "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web@sha256:" + "0" * 64):
            self.assertTrue(pattern.match(good), good)
        for bad in ("sparkify-web:v1", "ghcr.io/x/sparkify-web:v1", WEB_IMAGE + "/x",
                    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sparkify-web"):
            self.assertFalse(pattern.match(bad), bad)

    def test_the_task_role_holds_exactly_the_web_policy_as_the_web_user_does(self):
        role = self.res["WebTaskRole"]["Properties"]
        self.assertEqual(role["AssumeRolePolicyDocument"]["Statement"], ECS_TASKS_MAY_ASSUME)
        self.assertNotIn("Policies", role)
        self.assertEqual([(p.name, p.value) for p in role["ManagedPolicyArns"]], [("Ref", "WebPolicy")])
        user = self.res["WebUser"]["Properties"]
        self.assertEqual(set(user), {"ManagedPolicyArns"})
        self.assertEqual([(p.name, p.value) for p in user["ManagedPolicyArns"]], [("Ref", "WebPolicy")])
        policy = self.res["WebPolicy"]
        self.assertEqual(policy["Type"], "AWS::IAM::ManagedPolicy")
        self.assertEqual(set(policy["Properties"]) - {"Description"}, {"PolicyDocument"})
        document = substitute(policy["Properties"]["PolicyDocument"],
                              {"Bucket": "${Bucket}", "Function.Arn": "${Function.Arn}"})
        self.assertEqual(document, sparkify_policy("web", "${Bucket}", "${Function.Arn}"))

    def test_the_execution_role_only_pulls_the_image_writes_its_logs_and_reads_its_secrets(self):
        p = self.res["WebExecutionRole"]["Properties"]
        self.assertEqual(p["AssumeRolePolicyDocument"]["Statement"], ECS_TASKS_MAY_ASSUME)
        self.assertNotIn("ManagedPolicyArns", p)
        for params in (WEB, WEB_FULL):
            policies = Cfn(self.t, params).created()["WebExecutionRole"]["Properties"]["Policies"]
            self.assertEqual(len(policies), 1)
            grants = {}
            for s in policies[0]["PolicyDocument"]["Statement"]:
                self.assertEqual(s["Effect"], "Allow")
                self.assertNotIn("NotAction", s)
                resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
                for action in s["Action"]:
                    grants.setdefault(action, set()).update(resources)
            repo = "arn:aws:ecr:eu-west-1:123456789012:repository/sparkify-web"
            secrets = {"<Ref WebSessionSecret>", "<Ref WebShareSecret>"}
            if params is WEB_FULL:
                secrets.add(WEB_FULL["SpotifyClientSecretArn"])
            self.assertEqual(grants, {
                "ecr:GetAuthorizationToken": {"*"},  # takes no resource
                "ecr:BatchCheckLayerAvailability": {repo},
                "ecr:GetDownloadUrlForLayer": {repo},
                "ecr:BatchGetImage": {repo},
                "logs:CreateLogStream": {"<WebLogGroup.Arn>"},
                "logs:PutLogEvents": {"<WebLogGroup.Arn>"},
                "secretsmanager:GetSecretValue": secrets})

    def test_the_pull_grant_names_the_repository_of_the_image(self):
        pull = self.res["WebExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][1]
        self.assertEqual(pull["Sid"], "PullTheWebImage")
        for image, arn in (
                (WEB_IMAGE, "arn:aws:ecr:eu-west-1:123456789012:repository/sparkify-web"),
                ("210987654321.dkr.ecr.us-east-1.amazonaws.com/team/sparkify-web:v1.2-rc",
                 "arn:aws:ecr:us-east-1:210987654321:repository/team/sparkify-web"),
                ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/sparkify-web@sha256:" + "a" * 64,
                 "arn:aws:ecr:eu-west-1:123456789012:repository/sparkify-web"),
                ("", "arn:aws:ecr:::repository/")):  # no index out of range even when unused
            self.assertEqual(Cfn(self.t, {"WebImageUri": image}).eval(pull["Resource"]), arn, image)

    def test_the_tasks_admit_only_8080_from_the_load_balancer(self):
        task_sg = self.res["WebTaskSecurityGroup"]["Properties"]
        self.assertNotIn("SecurityGroupIngress", task_sg)
        ingress = [(n, r["Properties"]) for n, r in self.res.items()
                   if r["Type"] == "AWS::EC2::SecurityGroupIngress"]
        self.assertEqual(len(ingress), 1)
        rule = ingress[0][1]
        self.assertEqual(rule["GroupId"].value, "WebTaskSecurityGroup.GroupId")
        self.assertEqual(getattr(rule.get("SourceSecurityGroupId"), "value", None),
                         "WebAlbSecurityGroup.GroupId")
        self.assertEqual((rule["IpProtocol"], rule["FromPort"], rule["ToPort"]), ("tcp", 8080, 8080))
        self.assertFalse({"CidrIp", "CidrIpv6", "SourcePrefixListId"} & set(rule))
        for r in self.res.values():
            self.assertNotEqual(r["Type"], "AWS::EC2::SecurityGroupEgress")
        # Out: only HTTP(S).
        self.assertEqual({(e["IpProtocol"], e["FromPort"], e["ToPort"]) for e in task_sg["SecurityGroupEgress"]},
                         {("tcp", 443, 443), ("tcp", 80, 80)})
        # The load balancer: 80 (and 443 with a certificate) from anywhere, out only to the tasks.
        for params, ports in ((WEB, {80}), (WEB_FULL, {80, 443})):
            alb = Cfn(self.t, params).created()["WebAlbSecurityGroup"]["Properties"]
            self.assertEqual({(i["FromPort"], i.get("CidrIp") or i.get("CidrIpv6")) for i in alb["SecurityGroupIngress"]},
                             {(p, c) for p in ports for c in ("0.0.0.0/0", "::/0")})
            self.assertEqual(alb["SecurityGroupEgress"],
                             [{"Description": "To the web tasks", "IpProtocol": "tcp", "FromPort": 8080,
                               "ToPort": 8080, "DestinationSecurityGroupId": "<WebTaskSecurityGroup.GroupId>"}])

    def test_the_container_gets_its_secrets_as_secrets_and_no_key(self):
        for params in (WEB, WEB_FULL):
            c = self.container(params)
            env = {e["Name"]: e["Value"] for e in c["Environment"]}
            for name in env:
                self.assertNotRegex(name, r"SECRET|^AWS_(ACCESS_KEY|SESSION|CONTAINER)|PASSWORD|TOKEN")
            secrets = {s["Name"]: s["ValueFrom"] for s in c["Secrets"]}
            want = {"SPARKIFY_SESSION_SECRET": "<Ref WebSessionSecret>",
                    "SPARKIFY_SHARE_SECRET": "<Ref WebShareSecret>"}
            if params is WEB_FULL:
                want["SPOTIFY_CLIENT_SECRET"] = WEB_FULL["SpotifyClientSecretArn"]
            self.assertEqual(secrets, want)
            self.assertEqual(env["SPARKIFY_BUCKET"], "<Ref Bucket>")
            self.assertEqual(env["AWS_REGION"], "eu-west-1")
            self.assertEqual(env["SPARKIFY_FUNCTION_NAME"], "<Ref Function>")
            self.assertEqual(env["SPARKIFY_WEB_LISTEN"], "0.0.0.0:8080")
            self.assertEqual(env["SPARKIFY_TRUSTED_PROXIES"],
                             "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10")
        for name in ("WebSessionSecret", "WebShareSecret"):
            generate = self.res[name]["Properties"]["GenerateSecretString"]
            self.assertGreaterEqual(generate["PasswordLength"], 32)
            self.assertIs(generate["ExcludePunctuation"], True)
            self.assertNotIn("SecretString", self.res[name]["Properties"])

    def test_the_public_url_is_web_origin_else_the_load_balancer(self):
        for params, url in ((WEB, "http://" + ALB_DNS),
                            (dict(WEB, WebOrigin="http://collage.example"), "http://collage.example"),
                            (WEB_FULL, "https://collage.example")):
            cfn = Cfn(self.t, params)
            env = {e["Name"]: e["Value"] for e in self.container(params)["Environment"]}
            self.assertEqual(env["SPARKIFY_PUBLIC_URL"], url)
            self.assertEqual(cfn.created("Outputs")["WebUrl"]["Value"], url)
            if "SpotifyClientId" in params:
                self.assertEqual(env["SPOTIFY_REDIRECT_URI"], url + "/auth/spotify/callback")
                self.assertEqual(env["SPOTIFY_CLIENT_ID"], params["SpotifyClientId"])
            else:
                self.assertNotIn("SPOTIFY_CLIENT_ID", env)
        # Browsers send the origin in lower case; the bucket's CORS rule and the public URL
        # carry the load balancer's DNS name, so its name is lower case.
        name = Cfn(self.t, WEB).created()["WebLoadBalancer"]["Properties"]["Name"]
        self.assertEqual(name, "sparkify-web-51af3dc0")
        self.assertLessEqual(len(name), 32)

    def test_the_task_runs_read_only_as_user_10001_on_fargate(self):
        td = Cfn(self.t, WEB).created()["WebTaskDefinition"]["Properties"]
        self.assertEqual(td["RequiresCompatibilities"], ["FARGATE"])
        self.assertEqual(td["NetworkMode"], "awsvpc")
        self.assertEqual(td["RuntimePlatform"], {"OperatingSystemFamily": "LINUX", "CpuArchitecture": "X86_64"})
        self.assertEqual((td["Cpu"], td["Memory"]), ("1024", 2048))
        self.assertEqual(td["TaskRoleArn"], "<WebTaskRole.Arn>")
        self.assertEqual(td["ExecutionRoleArn"], "<WebExecutionRole.Arn>")
        c = td["ContainerDefinitions"][0]
        self.assertIs(c["ReadonlyRootFilesystem"], True)
        self.assertEqual(c["User"].split(":")[0], "10001")
        self.assertEqual(c["Image"], WEB_IMAGE)
        self.assertEqual(c["LinuxParameters"]["Capabilities"]["Drop"], ["ALL"])
        self.assertNotIn("Privileged", c)
        self.assertEqual(c["PortMappings"], [{"ContainerPort": 8080, "Protocol": "tcp"}])
        self.assertEqual(c["MountPoints"], [{"SourceVolume": "tmp", "ContainerPath": "/tmp", "ReadOnly": False}])
        self.assertEqual(td["Volumes"], [{"Name": "tmp"}])
        self.assertEqual(c["LogConfiguration"]["Options"]["awslogs-group"], "<Ref WebLogGroup>")
        self.assertEqual(self.res["WebLogGroup"]["Properties"]["RetentionInDays"], 14)

    def test_the_service_runs_n_replicas_behind_the_load_balancer(self):
        cfn = Cfn(self.t, WEB)
        res = cfn.created()
        svc = res["WebService"]["Properties"]
        self.assertEqual(self.res["WebService"]["Properties"]["DesiredCount"].value, "WebReplicas")
        self.assertEqual(self.t["Parameters"]["WebReplicas"]["Default"], 2)
        self.assertEqual(self.t["Parameters"]["WebReplicas"]["MinValue"], 1)
        self.assertEqual(svc["LaunchType"], "FARGATE")
        self.assertEqual(svc["DeploymentConfiguration"]["DeploymentCircuitBreaker"],
                         {"Enable": True, "Rollback": True})
        self.assertGreater(svc["HealthCheckGracePeriodSeconds"], 0)
        net = svc["NetworkConfiguration"]["AwsvpcConfiguration"]
        self.assertEqual(net["AssignPublicIp"], "ENABLED")
        self.assertEqual(net["Subnets"], WEB["SubnetIds"].split(","))
        self.assertEqual(net["SecurityGroups"], ["<WebTaskSecurityGroup.GroupId>"])
        self.assertEqual(svc["LoadBalancers"], [{"ContainerName": "web", "ContainerPort": 8080,
                                                 "TargetGroupArn": "<Ref WebTargetGroup>"}])
        self.assertIn("WebListenerReady", self.res["WebService"]["DependsOn"])
        tg = res["WebTargetGroup"]["Properties"]
        self.assertEqual((tg["TargetType"], tg["Protocol"], tg["Port"]), ("ip", "HTTP", 8080))
        self.assertEqual(tg["HealthCheckPath"], "/healthz")
        self.assertEqual(tg["Matcher"], {"HttpCode": "200"})
        # A leaving task keeps running its collages as long as the function may take.
        self.assertEqual(tg["TargetGroupAttributes"],
                         [{"Key": "deregistration_delay.timeout_seconds",
                           "Value": self.t["Parameters"]["Timeout"]["Default"]}])
        self.assertNotIn("stickiness.enabled", json.dumps(tg))
        alb = res["WebLoadBalancer"]["Properties"]
        self.assertEqual((alb["Type"], alb["Scheme"]), ("application", "internet-facing"))
        attrs = {a["Key"]: a["Value"] for a in alb["LoadBalancerAttributes"]}
        # Over the progress streams' 15 s comments, under the app's 60 s keep-alive.
        self.assertTrue(15 < int(attrs["idle_timeout.timeout_seconds"]) < 60, attrs)
        # HTTP forwards; with a certificate HTTP redirects and HTTPS forwards.
        forward = [{"Type": "forward", "TargetGroupArn": "<Ref WebTargetGroup>"}]
        self.assertEqual(res["WebHttpListener"]["Properties"]["DefaultActions"], forward)
        self.assertEqual(res["WebListenerReady"]["Metadata"]["Listener"], "<Ref WebHttpListener>")
        full = Cfn(self.t, WEB_FULL).created()
        self.assertEqual(full["WebHttpListener"]["Properties"]["DefaultActions"][0]["RedirectConfig"]["Protocol"],
                         "HTTPS")
        https = full["WebHttpsListener"]["Properties"]
        self.assertEqual((https["Port"], https["Protocol"], https["DefaultActions"]), (443, "HTTPS", forward))
        self.assertEqual(https["Certificates"], [{"CertificateArn": WEB_FULL["CertificateArn"]}])
        self.assertEqual(full["WebListenerReady"]["Metadata"]["Listener"], "<Ref WebHttpsListener>")

    def test_no_credentials_in_the_template_or_its_outputs(self):
        text = json.dumps(Cfn(self.t, WEB_FULL).created(), default=str)
        outputs = json.dumps(Cfn(self.t, WEB_FULL).created("Outputs"), default=str)
        for where in (text, outputs):
            self.assertNotRegex(where, r"AKIA[0-9A-Z]{16}|AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID|SecretAccessKey")
        for r in self.res.values():
            self.assertNotEqual(r["Type"], "AWS::IAM::AccessKey")
        for name, p in self.t["Parameters"].items():
            self.assertNotRegex(name, r"Secret$|Password|Key$", "secrets come by ARN, not by value")


class CfnLintTest(unittest.TestCase):
    """cfn-lint (with the SAM translator) where it is installed: the template as is, and with
    the whole web tier switched on through the parameters' defaults (so the web tier's
    values are checked against the resource schemas too)."""

    def test_cfn_lint_passes(self):
        lint = shutil.which("cfn-lint")
        if not lint:
            self.skipTest("cfn-lint is not installed")
        with open(os.path.join(HERE, "template.yaml")) as f:
            text = f.read()
        on = text
        for name, value in WEB_FULL.items():
            on, n = re.subn(r'(\n  %s:\n    Type: [^\n]+\n    Default: )"[^"\n]*"' % name,
                            lambda m: m.group(1) + json.dumps(value), on)
            self.assertEqual(n, 1, name)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "template-web-on.yaml")
            with open(path, "w") as f:
                f.write(on)
            # As is, the web tier's empty defaults do not match the VPC and subnet ID patterns
            # (W1030); the resources using them exist only when they are set (Rules).
            plain = subprocess.run([lint, "--ignore-checks", "W1030", "--", os.path.join(HERE, "template.yaml")],
                                   capture_output=True, text=True, timeout=100)
            self.assertEqual(plain.returncode, 0, plain.stdout + plain.stderr)
            web = subprocess.run([lint, "--", path], capture_output=True, text=True, timeout=100)
            self.assertEqual(web.returncode, 0, web.stdout + web.stderr)


class DockerfileTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        with open(os.path.join(HERE, "Dockerfile")) as f:
            text = f.read().replace("\\\n", " ")
        cls.lines = [l.strip() for l in text.splitlines() if l.strip() and not l.startswith("#")]
        final = max(i for i, l in enumerate(cls.lines) if l.startswith("FROM "))
        cls.final = cls.lines[final:]
        # The web app's image: the stage `docker build --target web` ends with.
        web = [i for i, l in enumerate(cls.lines) if l.startswith("FROM ") and l.endswith(" AS web")]
        assert len(web) == 1, "deploy/Dockerfile has no single stage named web"
        end = next((i for i in range(web[0] + 1, len(cls.lines)) if cls.lines[i].startswith("FROM ")),
                   len(cls.lines))
        cls.web = cls.lines[web[0]:end]

    def instruction(self, name, stage=None):
        return [l[len(name) + 1:].strip() for l in (stage or self.final)
                if l.startswith(name + " ")]

    def test_runs_on_no_base_system_and_builds_on_debian_12(self):
        args = {l.split()[1].split("=")[0]: l.split("=", 1)[1] for l in self.lines
                if l.startswith("ARG ") and "=" in l}
        self.assertEqual(args["DEBIAN"], "debian:12")
        self.assertEqual(args["DEBIAN_SLIM"], "debian:12-slim")
        # The final stage, so the default target, is the function's image: the collect alone.
        self.assertEqual(self.final[0], "FROM scratch AS function")
        self.assertEqual(self.instruction("COPY"), ["--from=stage /out/ /"])
        self.assertEqual(self.instruction("RUN"), [], "the final stage adds exactly one layer")
        self.assertEqual(self.web[0], "FROM scratch AS web")
        self.assertEqual(self.instruction("COPY", self.web), ["--from=web-stage /out/ /"])
        self.assertEqual(self.instruction("RUN", self.web), [], "the web stage adds one layer")

    def test_run_configuration_matches_image_conf(self):
        for stage, conf_name, listen, command in (
                (self.final, "image.conf", "SPARKIFY_LISTEN=0.0.0.0:8080", "function"),
                (self.web, "image-web.conf", "SPARKIFY_WEB_LISTEN=0.0.0.0:8080", "web")):
            conf = image_conf(conf_name)
            self.assertEqual(self.instruction("USER", stage), [conf["IMAGE_USER"]], conf_name)
            self.assertNotIn(conf["IMAGE_USER"].split(":")[0], ("0", "root"))
            self.assertEqual(self.instruction("WORKDIR", stage), [conf["IMAGE_WORKDIR"]])
            self.assertEqual(self.instruction("EXPOSE", stage), [conf["IMAGE_PORT"]])
            entrypoint = json.loads(self.instruction("ENTRYPOINT", stage)[0])
            self.assertEqual(entrypoint, conf["IMAGE_ENTRYPOINT"].split(), conf_name)
            self.assertEqual(entrypoint, ["/opt/sparkify/bin/sparkify-ai", command])
            env = " ".join(self.instruction("ENV", stage)).split()
            self.assertEqual(sorted(env), sorted(conf["IMAGE_ENV"].split()), conf_name)
            self.assertIn(listen, env)
        self.assertIn("SPARKIFY_SAMPLES_DIR=/opt/sparkify/samples",
                      image_conf("image-web.conf")["IMAGE_ENV"].split())

    def test_uses_the_shared_recipe(self):
        text = "\n".join(self.lines)
        for name in ("assemble.sh", "packages.txt", "files.txt", "files-web.txt",
                     "build-packages.txt"):
            self.assertIn("deploy/image/" + name, text)
        self.assertIn("assemble.sh install", text)
        self.assertIn("assemble.sh collect", text)
        self.assertIn("assemble.sh collect files-web.txt", text)
        with open(os.path.join(HERE, "build-image.sh")) as f:
            builder = f.read()
        for name in ("assemble.sh", "packages.txt", "files.txt", "files-web.txt", "image.conf",
                     "image-web.conf", "assemble.sh install", "assemble.sh collect"):
            self.assertIn(name, builder)
        # No stand-in libraries: the image runs with the real ones the loader resolves.
        for text_ in (text, builder):
            self.assertNotRegex(text_, r"stubs|stand-in")
        self.assertFalse(os.path.exists(os.path.join(HERE, "image", "stubs.txt")))

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
        # On Lambda the worker is the entry point: its malloc gets huge pages from the image.
        self.assertEqual(env["GLIBC_TUNABLES"], "glibc.malloc.hugetlb=1")

    def test_web_files_list_holds_the_samples_and_no_model_and_no_secrets(self):
        entries = [l.split() for l in recipe_lines("files-web.txt")]
        dests = [e[0] for e in entries]
        self.assertIn("/opt/sparkify/bin/sparkify-ai", dests)
        self.assertIn("/etc/ssl/certs/ca-certificates.crt", dests)
        self.assertEqual([d for d in dests if "/model" in d or d.endswith((".sgraph", ".onnx"))], [])
        self.assertEqual(secret_paths(dests + [e[2] for e in entries]), [])
        for dest, mode, source in entries:
            self.assertRegex(source, r"^(in|root):/?[A-Za-z0-9_./-]+$")
            self.assertIn(mode, ("0644", "0755"), dest)
        # The samples the environment names: every photo tools/model/fetch-samples.sh keeps,
        # with its index (the licences) and SOURCE.
        env = dict(kv.split("=", 1) for kv in image_conf("image-web.conf")["IMAGE_ENV"].split())
        folder = env["SPARKIFY_SAMPLES_DIR"]
        samples = {d[len(folder) + 1:] for d in dests if d.startswith(folder + "/")}
        with open(os.path.join(os.path.dirname(HERE), "tools", "model", "fetch-samples.sh")) as f:
            photos = set(re.findall(r'^\s+"[a-z_]+\|([A-Za-z0-9_.-]+)\|', f.read(), re.M))
        self.assertGreaterEqual(len(photos), 10)
        self.assertEqual(samples, photos | {"index.tsv", "SOURCE"})

    def test_secret_detector_catches_the_usual_suspects(self):
        bad = ["/root/.aws/credentials", "/home/u/.ssh/id_rsa", "/opt/x/server.key",
               "/etc/ssl/private/ssl-cert-snakeoil.key", "/data/iam/users/web/credentials.json",
               "/app/.env", "/root/.docker/config.json"]
        good = ["/opt/sparkify/model/model.sgraph", "/etc/ssl/certs/ca-certificates.crt",
                "/usr/lib/x86_64-linux-gnu/libapt-private.so.0.0", "/usr/share/keyrings/debian-archive-keyring.gpg"]
        self.assertEqual(secret_paths(bad), bad)
        self.assertEqual(secret_paths(good), [])

    def test_packages_cover_every_library_sparkify_ai_links(self):
        base = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}  # in the stage's debian:12-slim
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


if __name__ == "__main__":
    unittest.main(verbosity=2)
