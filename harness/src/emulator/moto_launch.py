# Why this file exists: moto is one Python process serving every test account of a run, so its
# CPU is the suite's shared bottleneck. Most of it goes into work moto repeats for each
# new account or request although the result cannot differ: parsing the same 4.7 MB of IAM
# managed-policy JSON, re-reading the same AMI files, listing its own package directory. This
# launcher removes those repeats, then runs moto's own server entry point with the same
# arguments (`python moto_launch.py -H HOST -p PORT`), so moto serves exactly as
# `python -m moto.server` would. The harness runs the pinned install through it
# (moto_launch.rs); HARNESS_MOTO_SERVER and a moto_server on PATH are run as they are.
#
# Rule for every patch: the answers stay the same, byte for byte, including ids under
# `/moto-api/seed` (moto's documented way to make ids deterministic): a patch never adds, drops
# or reorders a draw from moto's random generator. Each patch says what moto does, why it is
# slow and why it cannot change an answer. The patches are written against one moto version
# (PINNED); with another version none is applied (the server still runs, and says so).
#
# One more kind of patch, FIXES: a thread-safety fix. It changes an answer only where moto's
# answer to one request depended on another request served at the same time; each says which.
import gc
import sys

PINNED = "5.2.5"


def say(text):
    print("harness moto launcher: " + text, file=sys.stderr, flush=True)


def patch_iam_managed_policies():
    """Builds AWS's managed policies of a new account by copying a template, not from JSON.

    moto: `IAMBackend.__init__` (moto/iam/models.py `_init_aws_policies`) runs
    `json.loads(aws_managed_policies_data)` (4.7 MB) and then `AWSManagedPolicy.from_data` for
    each of the 1582 policies, which `json.dumps` each document again and parses two dates:
    ~75 ms per account, and one full copy of every document per account.

    Patch: the first IAM backend of each partition runs moto's own code, unchanged; right after,
    the attributes of its fresh policy objects are recorded as templates. Every later account
    gets new objects of the same classes (moto's own `__new__`, so /moto-api/data.json still
    tracks them) with those attributes, and its own mutable parts: a new `tags` dict, a new
    `versions` list with a new PolicyVersion, `attachment_count` 0 (AttachPolicy in one account
    never shows in another), its account id, and an id from `random_policy_id()`, called once per
    policy in moto's order, as `Policy.__init__` does, so seeded ids stay the same. The other
    attributes are immutable values (str, int, bool, datetime, None: checked, else the patch
    stands down and moto's code runs for every account) and an AWS-managed policy's ARN names
    no account, so sharing them cannot leak state between accounts.
    """
    from datetime import datetime

    from moto.iam import models
    from moto.iam.utils import random_policy_id

    original = models.IAMBackend._init_aws_policies
    policy_class = models.AWSManagedPolicy
    version_class = models.PolicyVersion
    per_account = {"account_id", "id", "tags", "versions"}
    immutable = (str, int, bool, float, datetime, type(None))
    templates = {}  # partition -> list of (policy attrs, version attrs), or None: stood down

    def record(policies, account_id):
        recorded = []
        for policy in policies:
            attrs = dict(vars(policy))
            if type(policy) is not policy_class or len(policy.versions) != 1:
                return None
            version = policy.versions[0]
            if type(version) is not version_class:
                return None
            version_attrs = dict(vars(version))
            shared = [v for k, v in attrs.items() if k not in per_account]
            shared += list(version_attrs.values())
            if attrs.get("attachment_count") != 0 or attrs.get("tags") != {}:
                return None
            if not all(isinstance(v, immutable) for v in shared):
                return None
            if any(isinstance(v, str) and account_id in v for v in shared):
                return None
            recorded.append((attrs, version_attrs))
        return recorded

    def init_aws_policies(self):
        recorded = templates.get(self.region_name, False)
        if recorded is False or recorded is None or not models.load_iam_aws_managed_policies():
            policies = original(self)
            if recorded is False and policies:
                templates[self.region_name] = record(policies, self.account_id)
                if templates[self.region_name] is None:
                    say("IAM policy templates: unexpected attributes, using moto's own code")
            return policies
        new_policy = policy_class.__new__
        new_version = object.__new__
        account_id = self.account_id
        policies = []
        for attrs, version_attrs in recorded:
            policy = new_policy(policy_class)
            policy.__dict__.update(attrs)
            policy.account_id = account_id
            policy.id = random_policy_id()
            policy.tags = {}
            version = new_version(version_class)
            version.__dict__.update(version_attrs)
            policy.versions = [version]
            policies.append(policy)
        return policies

    models.IAMBackend._init_aws_policies = init_aws_policies
    return "IAM managed policies from per-process templates"


def patch_ami_resources():
    """Reads each of moto's AMI resource files once per process, not once per account-region.

    moto: `AmiBackend._load_amis` (moto/ec2/models/amis.py) calls `load_resource` for
    `latest_amis/<region>.json` and `ecs/optimized_amis/<region>.json` (gunzip + json.loads,
    ~3.5 ms) each time an account first uses EC2 in a region.

    Patch: `load_resource`, as that module sees it, answers a fresh list of fresh shallow copies
    of one parse per file (the files are package data: they do not change while moto runs).
    `_load_amis` sets keys on the dicts it gets: copies, so the parse stays as read. Values
    inside (the `tags` dict) are only read (`add_tags` copies them into the tag store). A
    missing file raises FileNotFoundError every time, as in moto.
    """
    from moto.ec2.models import amis

    original = amis.load_resource
    parsed = {}

    def load_resource(resource):
        if resource not in parsed:
            try:
                parsed[resource] = original(resource)
            except FileNotFoundError as missing:
                parsed[resource] = missing
        data = parsed[resource]
        if isinstance(data, FileNotFoundError):
            raise FileNotFoundError(*data.args)
        if isinstance(data, list) and all(isinstance(item, dict) for item in data):
            return [dict(item) for item in data]
        return original(resource)

    amis.load_resource = load_resource
    return "AMI resource files parsed once"


def patch_ec2_random_ids():
    """EC2's hex ids from the same random draws, with less interpreter work per character.

    moto: `random_resource_id` (moto/ec2/utils.py) builds each id with one
    `random.choice(HEX_CHARS)` per character; a new account-region makes 2 ids for each of its
    ~1300 AMIs (a volume and a snapshot): ~10 ms.

    Patch: the same generator (moto's seedable `mock_random`), the same `getrandbits` calls in
    the same order, as `Random.choice` makes them for a 16-item sequence. Installed only if, on
    this interpreter, it gives exactly moto's output on a private generator seeded the same way.
    """
    import random as std_random

    from moto.ec2 import utils
    from moto.moto_api._internal import mock_random

    hex_chars = utils.HEX_CHARS
    if len(hex_chars) != 16:
        return None

    def draw(getrandbits, size):
        out = []
        for _ in range(size):
            r = getrandbits(5)
            while r >= 16:
                r = getrandbits(5)
            out.append(hex_chars[r])
        return "".join(out)

    theirs, ours = std_random.Random(13), std_random.Random(13)
    for size in (1, 4, 8, 12, 17, 40) * 50:
        expected = "".join(theirs.choice(hex_chars) for _ in range(size))
        if draw(ours.getrandbits, size) != expected:
            return None
    if type(mock_random).choice is not std_random.Random.choice:
        return None

    def random_resource_id(size=8):
        return draw(mock_random.getrandbits, size)

    utils.random_resource_id = random_resource_id
    return "EC2 hex ids drawn with getrandbits"


def patch_request_routing():
    """Three look-ups moto repeats on every request, answered from memory after the first.

    moto: `DomainDispatcherApplication.get_backend_for_host` (moto/moto_server/werkzeug_app.py)
    checks the host against `list_of_moto_modules()` (moto/backends.py), which lists moto's
    package directory and stats each of its ~180 entries, then tries the URL patterns of every
    service in turn (up to ~300 regular expressions, ~0.1 ms), twice per request;
    `BaseResponse.call_action` (moto/core/responses.py) runs `inspect.getmembers` over the
    response class (hundreds of members) to learn whether the action is one of its methods.

    Patch: the package directory's listing is kept (an installed package does not change while
    moto runs); the service found for a host name is kept per dispatcher (its patterns are
    fixed at start; a host that matches nothing is not kept, so moto's "Unable to find
    appropriate backend" line is still printed each time); the method names are kept per class
    (moto defines its response classes at import and never adds methods later). Same names,
    same order; only `in` is asked of them.
    """
    from moto import backends
    from moto.core import responses
    from moto.moto_server import werkzeug_app

    modules = []

    def list_of_moto_modules():
        if not modules:
            modules.append(tuple(original_modules()))
        return iter(modules[0])

    original_modules = backends.list_of_moto_modules
    backends.list_of_moto_modules = list_of_moto_modules

    dispatcher = werkzeug_app.DomainDispatcherApplication
    original_host = dispatcher.get_backend_for_host

    def get_backend_for_host(self, host):
        known = self.__dict__.setdefault("_harness_backend_for_host", {})
        found = known.get(host)
        if found is None:
            found = original_host(self, host)
            if found and len(known) < 10_000:
                known[host] = found
        return found

    dispatcher.get_backend_for_host = get_backend_for_host

    original_names = responses.method_names_from_class
    names = {}

    def method_names_from_class(clazz):
        found = names.get(clazz)
        if found is None:
            found = names[clazz] = frozenset(original_names(clazz))
        return found

    responses.method_names_from_class = method_names_from_class
    return "request routing look-ups kept"


def fix_response_transformers_per_request():
    """Each request's answer keeps the fields it asked for, whatever other requests ask.

    moto: `BaseResponse._include_in_response` / `_exclude_from_response` (moto/core/responses.py)
    write into `RESPONSE_KEY_PATH_TO_TRANSFORMER`, a dict that belongs to the response *class*,
    and the serializer reads it when it writes the answer. ECS DescribeClusters, DescribeServices,
    DescribeTasks and DescribeTaskSets use it for `include=TAGS` (moto/ecs/responses.py); EC2's
    CreateVpcPeeringConnection and key pairs write it too. moto serves requests on threads, so a
    DescribeClusters without `include` in one account, run between another account's
    `include=TAGS` and its serialization, strips that answer's tags: the cluster reads as one
    without the ownership tag, and a destroy skips it as not its own (with a 1 µs GIL switch
    interval and 8 threads asking without `include`, 14-18 of 1000 answers come back without
    tags; through this fix, 0).

    Fix: every response object gets its own copy of its class's dict when it is created (one
    per request: moto's `dispatch` creates one per request), so what a request sets stays its
    own. A request alone gets the same answer as from moto's code.
    """
    from moto.core import responses

    base = responses.BaseResponse
    original_init = base.__init__
    if not isinstance(getattr(base, "RESPONSE_KEY_PATH_TO_TRANSFORMER", None), dict):
        return None

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.RESPONSE_KEY_PATH_TO_TRANSFORMER = dict(type(self).RESPONSE_KEY_PATH_TO_TRANSFORMER)

    base.__init__ = init
    return "response transformers per request (thread-safety fix)"


def tune_gc():
    """Fewer collections of objects that live as long as the server.

    Every account adds ~10,000 long-lived objects (policies, AMIs, snapshots); the collector's
    default thresholds make a young collection every 700 allocations and walk the whole heap
    again and again as it grows. The collector only frees memory held in reference cycles; it
    never changes what moto answers. What moto imported at start-up is frozen (never scanned),
    without a collection first: the imports leave a few dozen unreachable objects, which a full
    collection of the start-up heap (~60,000 objects, 0.07-0.2 s of the start) would free.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    return "garbage collector thresholds raised"


PATCHES = [
    patch_iam_managed_policies,
    patch_request_routing,
]

FIXES = [fix_response_transformers_per_request]

# Patches of moto's EC2 package, applied right after `moto.ec2` has been imported in full (as
# when imported at start-up, so every module sees the same patched names): importing it costs
# ~0.6 s of CPU (its models), which a moto serving a command that never calls EC2 does not pay.
EC2_PATCHES = [
    patch_ami_resources,
    patch_ec2_random_ids,
]


def run_patch(patch):
    """Runs one patch; what it applied, or None (said on stderr) when it cannot apply."""
    try:
        done = patch()
    except Exception as error:  # a speed-up that cannot apply is left out, loudly
        say(f"{patch.__name__} not applied: {error!r}")
        return None
    if not done:
        say(f"{patch.__name__} not applied: moto is not as expected")
    return done


class AfterImport:
    """A meta-path finder that runs `hook()` right after module `name` has been executed.

    It finds the module's spec through the finders after it on `sys.meta_path`, and wraps that
    spec's loader so the hook runs once `exec_module` returns (for a package: once its
    `__init__` and everything it imports have run). It steps aside after the first import.
    """

    def __init__(self, name, hook):
        self.name, self.hook = name, hook

    def find_spec(self, name, path, target=None):
        if name != self.name:
            return None
        sys.meta_path.remove(self)
        import importlib.util

        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module, hook = spec.loader.exec_module, self.hook

        def exec_then_hook(module):
            exec_module(module)
            hook()

        spec.loader.exec_module = exec_then_hook
        return spec


def after_import(name, hook):
    """Runs `hook()` once module `name` is imported (now, if it already is)."""
    if name in sys.modules:
        hook()
    else:
        sys.meta_path.insert(0, AfterImport(name, hook))


def apply_ec2_patches():
    applied = [done for done in map(run_patch, EC2_PATCHES) if done]
    say(f"EC2 loaded, speed-ups applied: {'; '.join(applied) or 'none'}")



def apply():
    """Applies the speed-ups that fit the installed moto; returns what was applied."""
    import moto

    version = getattr(moto, "__version__", "unknown")
    if version != PINNED:
        say(f"moto {version} is not {PINNED}, which the speed-ups are written for: none applied")
        return []
    applied = [done for done in map(run_patch, PATCHES + FIXES) if done]
    after_import("moto.ec2", apply_ec2_patches)
    applied.append("EC2's when it loads")
    import moto.server  # noqa: F401  (imported before the collector freezes what is loaded)

    applied.append(tune_gc())
    say(f"moto {version}, speed-ups applied: {'; '.join(applied)}")
    return applied


def main():
    apply()
    from moto.server import main as serve

    serve(sys.argv[1:])


if __name__ == "__main__":
    main()
