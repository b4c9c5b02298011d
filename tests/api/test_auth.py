"""JWT authentication and roles (spec §2, §1.1, §10.3, §11.1, §11.5).

pyketi's ``user`` role is wider than heketi's (exact ``/volumes`` only): it may
manage volumes, poll its jobs and read the cluster/node info the Kubernetes
provisioner needs (pyketi/api/auth.py); everything else is admin-only.
"""

import base64
import hashlib
import hmac
import json
import re
import time

import jwt
import pytest

from apihelp import accepted, dump, json_ok, text_error, topology, unknown_id

WRONG_KEY = "not-the-server-key-0123456789abcdef"
EXPIRED_RE = re.compile(r"^Invalid JWT token: Token is expired by (\d+h)?(\d+m)?\d+s\n$")


def qsh(method, path):
    return hashlib.sha256(f"{method}&{path}".encode()).hexdigest()


def claims(role="admin", method="GET", path="/clusters", **extra):
    now = int(time.time())
    body = {"iss": role, "iat": now, "exp": now + 300, "qsh": qsh(method, path)}
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header, body, signature=b""):
    """A token with an arbitrary header (``alg: none``, RS256...)."""
    return ".".join([b64(json.dumps(header).encode()), b64(json.dumps(body).encode()),
                     b64(signature)])


async def get(api, header, path="/clusters", method="GET"):
    return await api.request(method, path, auth=False,
                             headers={} if header is None else {"Authorization": header})


async def test_missing_header(api):
    text_error(await get(api, None), 401, "Required authorization token not found")
    text_error(await get(api, ""), 401, "Required authorization token not found")


@pytest.mark.parametrize("header", ["Bearer", "Basic abc", "Bearer a b", "Token x",
                                    "bearerx.y.z", "Bearer  {token}", "Bearer\t{token}"])
async def test_malformed_header(api, keys, header):
    # auth0 go-jwt-middleware splits on single spaces: exactly "<scheme> <token>"
    token = jwt.encode(claims(), keys["admin"], algorithm="HS256")
    text_error(await get(api, header.replace("{token}", token)), 400,
               "Authorization header format must be Bearer {token}")


async def test_scheme_is_case_insensitive(api, keys):
    token = jwt.encode(claims(), keys["admin"], algorithm="HS256")
    for scheme in ("bearer", "BEARER", "Bearer"):
        assert json_ok(await get(api, f"{scheme} {token}")) == {"clusters": []}


async def test_token_errors(api, keys):
    now = int(time.time())
    admin = keys["admin"]
    cases = [
        ("garbage", "Invalid JWT token: token contains an invalid number of segments"),
        (jwt.encode(claims(), WRONG_KEY, algorithm="HS256"),
         "Invalid JWT token: signature is invalid (client and server secrets may not match)"),
        (jwt.encode(claims(), keys["user"], algorithm="HS256"),  # admin claims, user key
         "Invalid JWT token: signature is invalid (client and server secrets may not match)"),
        # the signature error wins over claim errors
        (jwt.encode(claims(exp=now - 100), WRONG_KEY, algorithm="HS256"),
         "Invalid JWT token: signature is invalid (client and server secrets may not match)"),
        (jwt.encode(claims(role="root"), admin, algorithm="HS256"),
         "Invalid JWT token: Unknown user"),
        (jwt.encode(claims(role=None), admin, algorithm="HS256"),
         "Invalid JWT token: Token missing iss claim"),
        (jwt.encode(claims(role=""), admin, algorithm="HS256"),
         "Invalid JWT token: Token missing iss claim"),
        (jwt.encode(claims(iat=now + 600), admin, algorithm="HS256"),
         "Invalid JWT token: Token used before issued (client and server clocks may differ)"),
        (jwt.encode(claims(nbf=now + 600), admin, algorithm="HS256"),
         "Invalid JWT token: token is not valid yet"),
        (unsigned({"alg": "none", "typ": "JWT"}, claims()),
         "Invalid JWT token: Unexpected signing method: none"),
        (unsigned({"alg": "RS256", "typ": "JWT"}, claims(), b"x" * 256),
         "Invalid JWT token: Unexpected signing method: RS256"),
        (unsigned({"alg": "ES256", "typ": "JWT"}, claims(), b"x" * 64),
         "Invalid JWT token: Unexpected signing method: ES256"),
        (jwt.encode(claims(qsh=qsh("GET", "/volumes")), admin, algorithm="HS256"),
         "Invalid qsh claim in token"),
        (jwt.encode(claims(qsh=qsh("POST", "/clusters")), admin, algorithm="HS256"),
         "Invalid qsh claim in token"),
        (jwt.encode(claims(qsh=qsh("GET", "/clusters").upper()), admin, algorithm="HS256"),
         "Invalid qsh claim in token"),
        (jwt.encode(claims(qsh=None), admin, algorithm="HS256"), "Invalid qsh claim in token"),
    ]
    problems = []
    for token, message in cases:
        r = await get(api, f"Bearer {token}")
        if (r.status, r.text) != (401, message + "\n"):
            problems.append(f"{message!r}: got {r.status} {r.text!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("age,expect", [(30, {"30s", "31s"}), (3700, {"1h1m40s", "1h1m41s"})])
async def test_expired(api, keys, age, expect):
    # whole seconds, printed as a Go duration (heketi compares Unix seconds)
    token = jwt.encode(claims(exp=int(time.time()) - age), keys["admin"], algorithm="HS256")
    r = await get(api, f"Bearer {token}")
    assert r.status == 401 and r.text in {
        f"Invalid JWT token: Token is expired by {d}\n" for d in expect}, r.text


async def test_missing_exp_counts_as_expired(api, keys):
    # exp missing = 0: expired for decades (spec §11.1)
    token = jwt.encode(claims(exp=None), keys["admin"], algorithm="HS256")
    r = await get(api, f"Bearer {token}")
    assert r.status == 401 and EXPIRED_RE.match(r.text), r.text
    hours = int(re.search(r"by (\d+)h\d+m\d+s$", r.text).group(1))
    assert hours > 24 * 365 * 50


async def test_iat_leeway_is_configurable(make_api, db_url, keys):
    api = await make_api(db_url, jwt_iat_leeway=5)
    now = int(time.time())
    token = jwt.encode(claims(iat=now + 60), keys["admin"], algorithm="HS256")
    text_error(await get(api, f"Bearer {token}"), 401,
               "Invalid JWT token: Token used before issued (client and server clocks may differ)")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
async def test_every_hmac_algorithm_is_accepted(api, keys, alg):
    token = jwt.encode(claims(), keys["admin"], algorithm=alg)
    assert json_ok(await get(api, f"Bearer {token}")) == {"clusters": []}


async def test_claims_within_limits_are_accepted(api, keys):
    now = int(time.time())
    for extra in ({"iat": now + 60}, {"iat": None}, {"exp": now + 2}, {"nbf": now - 5},
                  {"aud": "whatever", "sub": "x"}):
        token = jwt.encode(claims(**extra), keys["admin"], algorithm="HS256")
        assert json_ok(await get(api, f"Bearer {token}")) == {"clusters": []}, extra


async def test_qsh_covers_the_path_only(api, keys):
    token = jwt.encode(claims(path="/clusters"), keys["admin"], algorithm="HS256")
    assert json_ok(await get(api, f"Bearer {token}", path="/clusters?x=1")) == {"clusters": []}
    token = jwt.encode(claims(path="/clusters?x=1"), keys["admin"], algorithm="HS256")
    text_error(await get(api, f"Bearer {token}", path="/clusters?x=1"), 401,
               "Invalid qsh claim in token")


async def test_open_routes(api):
    for header in (None, "Bearer garbage", "Basic x"):
        r = await get(api, header, path="/hello")
        assert (r.status, r.text) == (200, "Hello from Heketi")
        assert r.headers["Content-Type"] == "text/plain; charset=UTF-8"
        r = await get(api, header, path="/metrics")
        assert r.status == 200 and "heketi_up 1.0" in r.text


async def test_auth_runs_before_routing(api, keys):
    text_error(await get(api, None, path="/no/such/path"), 401,
               "Required authorization token not found")
    text_error(await get(api, "Basic x", path="/no/such/path"), 400,
               "Authorization header format must be Bearer {token}")
    text_error(await get(api, None, path="/clusters", method="PUT"), 401,
               "Required authorization token not found")
    text_error(await get(api, None, path="/volumes/"), 401,
               "Required authorization token not found")
    token = jwt.encode(claims(path="/no/such/path"), keys["admin"], algorithm="HS256")
    text_error(await get(api, f"Bearer {token}", path="/no/such/path"), 404,
               "Invalid path or request")


async def test_user_role_manages_volumes(api):
    topo = await topology(api, nodes=3, devices=1)
    r = await api.post("/volumes", {"size": 1, "durability": {"type": "replicate"}}, role="user")
    accepted(r)
    final = await api.wait(r, role="user")
    assert final.status == 303
    vid = final.headers["Location"][len("/volumes/"):]
    vol = json_ok(await api.get(f"/volumes/{vid}", role="user"))
    assert json_ok(await api.get("/volumes", role="user")) == {"volumes": [vid]}
    assert json_ok(await api.get(f"/clusters/{topo['cluster']}", role="user"))["volumes"] == [vid]
    node = json_ok(await api.get(f"/nodes/{topo['nodes'][0]}", role="user"))
    assert node["id"] == topo["nodes"][0]
    expanded = await api.done(await api.post(f"/volumes/{vid}/expand", {"expand_size": 1},
                                             role="user"), role="user")
    assert expanded["size"] == vol["size"] + 1
    assert await api.done(await api.delete(f"/volumes/{vid}", role="user"), role="user") is None
    assert json_ok(await api.get("/volumes", role="user")) == {"volumes": []}


async def test_user_role_is_refused_elsewhere(api):
    topo = await topology(api, nodes=3, devices=1)
    vol = await api.volume(1)
    vid, did, nid, cid = vol["id"], topo["devices"][0], topo["nodes"][0], topo["cluster"]
    refused = [
        ("POST", "/clusters", {}), ("GET", "/clusters", None), ("DELETE", f"/clusters/{cid}", None),
        ("POST", f"/clusters/{cid}/flags", {"block": True}), ("GET", "/db/dump", None),
        ("GET", "/db/check", None), ("GET", "/admin", None),
        ("POST", "/admin", {"state": "normal"}),
        ("GET", "/operations", None), ("GET", "/operations/pending", None),
        ("POST", "/nodes", {}), ("DELETE", f"/nodes/{nid}", None),
        ("POST", f"/nodes/{nid}/state", {"state": "offline"}),
        ("POST", f"/nodes/{nid}/tags", {"tags": {}, "change_type": "set"}),
        ("POST", "/devices", {}), ("GET", f"/devices/{did}", None),
        ("DELETE", f"/devices/{did}", None), ("GET", f"/devices/{did}/resync", None),
        ("POST", f"/volumes/{vid}/clone", {}),
        ("POST", f"/volumes/{vid}/block-restriction", {"restriction": "locked"}),
        ("GET", f"/volumes/{vid}/expand", None), ("PUT", "/volumes", {}),
        ("GET", "/volumes/", None), ("GET", f"/volumes/{vid}/", None),
        ("GET", "/no/such/path", None), ("GET", "/queue", None),
    ]
    before = await dump(api)
    problems = []
    for method, path, body in refused:
        r = await api.request(method, path, body, role="user")
        if (r.status, r.text) != (401, "Administrator access required\n"):
            problems.append(f"{method} {path}: {r.status} {r.text!r}")
    assert not problems, "\n".join(problems)
    assert await dump(api) == before


async def test_refused_poll_does_not_consume_the_entry(api, sign, keys):
    cid = await api.cluster()
    nid = await api.node(cid, 1)
    r = await api.post(f"/nodes/{nid}/state", {"state": "offline"}, role="user")
    text_error(r, 401, "Administrator access required")
    r = await api.post(f"/nodes/{nid}/state", {"state": "offline"})
    location = accepted(r)
    for token in (sign("user", "GET", location, key=WRONG_KEY),
                  sign("user", "GET", "/queue"),
                  sign("user", "GET", location, exp=int(time.time()) - 5)):
        refused = await get(api, f"Bearer {token}", path=location)
        assert refused.status == 401, refused.text
    text_error(await api.get(location, role="user"), 404, "Id not found")  # admin's job
    final = await api.wait(r)  # the entry is still there
    assert (final.status, final.text) == (204, "")
    text_error(await api.get(location), 404, "Id not found")


async def test_disable_auth_ignores_tokens(make_api, db_url, keys):
    api = await make_api(db_url, auth=False)
    cid = json_ok(await api.post("/clusters", {}, auth=False), 201)["id"]
    user_token = jwt.encode(claims(role="user", path="/db/dump"), keys["user"],
                            algorithm="HS256")
    for header in (None, "Bearer garbage", "Basic x", f"Bearer {user_token}"):
        assert json_ok(await get(api, header)) == {"clusters": [cid]}
        r = await get(api, header, path="/db/dump")
        assert r.status == 200 and cid in json.loads(r.text)["clusterentries"]
    text_error(await get(api, None, path=f"/clusters/{unknown_id()}"), 404, "Id not found")


def _variants(key):
    """Well-formed tokens and near misses: padding, non-canonical base64, extra header
    fields, other algorithms, wrong keys, claims of the wrong type."""
    good = jwt.encode(claims(), key, algorithm="HS256")
    head, body, sig = good.split(".")
    out = [good, good + "=", f"{head}=.{body}.{sig}", f"{head}.{body}.{sig}=",
           f"{head}.{body}.{sig[:-1]}" + ("B" if sig[-1] == "A" else "A"),
           f"{head}.{body}!.{sig}", f"{head}.{body}", f"{head}.{body}.{sig}.x",
           good.replace("-", "+"), "é" + good]
    for alg in ("HS384", "HS512"):
        out.append(jwt.encode(claims(), key, algorithm=alg))
    out.append(jwt.encode(claims(), WRONG_KEY, algorithm="HS256"))
    for headers in ({"kid": 5}, {"kid": "k"}, {"crit": ["b64"]}, {"b64": False},
                    {"typ": 7}, {"cty": "JWT"}):
        signing = unsigned({"alg": "HS256", **headers}, claims()).rsplit(".", 1)[0]
        mac = hmac.new(key.encode(), signing.encode(), hashlib.sha256).digest()
        out.append(f"{signing}.{b64(mac)}")
    for extra in ({"sub": 5}, {"sub": "someone"}, {"jti": []}, {"iss": ""},
                  {"iss": "nobody"}, {"iss": None}, {"exp": None}, {"exp": 1.5},
                  {"aud": "x"}, {"qsh": None}):
        out.append(jwt.encode(claims(**extra), key, algorithm="HS256"))
    out.append(unsigned({"alg": "none"}, claims()))
    out.append(unsigned({"alg": ["HS256"]}, claims()))
    out.append(unsigned({"alg": {"x": 1}}, claims()))
    out.append(unsigned({"alg": "HS256"}, ["not", "an", "object"]))
    out.append(b64(b'{"alg":"HS256"}') + "." + b64(b"\xff\xfe") + "." + sig)
    return out


def test_the_one_pass_decode_accepts_only_what_the_checked_decode_accepts(keys):
    # the hot path decodes a token once; any token it accepts must be accepted, with the
    # same claims, by the step-by-step decode that words heketi's refusals
    from pyketi.api.auth import Authenticator
    from pyketi.errors import ApiError

    auth = Authenticator(keys["admin"], keys["user"])
    accepted_fast = 0
    for token in _variants(keys["admin"]):
        fast = auth._decode_once(token)
        try:
            checked = auth._decode_checked(token)
        except ApiError:
            checked = None
        if fast is not None:
            accepted_fast += 1
            assert fast == checked, token
    assert accepted_fast >= 5  # the plain tokens (HS256/384/512, with sub, aud...)
