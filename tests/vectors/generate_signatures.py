#!/usr/bin/env python3
"""Signature test vectors, computed outside reamaze-bridge's code.

Each signature is computed with Python's hmac/hashlib and checked against the
openssl command line (`openssl dgst -sha256 -hmac KEY -binary`) as it is
made; the script stops if the two disagree. Writes signatures.json and
verify-cases.json beside itself. With --check, writes nothing and exits 1 if
the committed files differ from what it would write.

Every layer (Rust, Node, the Worker, the browser) reads these two files.
"""

import base64
import hashlib
import hmac
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

REAMAZE_DOC_BODY = '{"id":"1","body":"hello"}'
# The Voice360 reference text's INCOMING_EXTERNAL_CALL example, compacted.
VOICE360_BODY = (
    '{"event_name":"INCOMING_EXTERNAL_CALL","account_id":"12345","timestamp":1704067200,'
    '"metadata":{"caller_id_number":"+15551234567","caller_id_name":"John Doe",'
    '"dnis":"+15559876543","uniqueid":"1704067200.12345"}}'
)
BIRD_BODY = (
    '{"service":"channels","event":"voice.inbound","payload":{"id":"c0ffee00-0000-4000-8000-000000000001",'
    '"direction":"incoming","status":"completed","from":"+31612345678","to":"+31201234567","duration":95}}'
)
VOLUBILE_BODY = (
    '{"id":"3c90c3cc-0d44-4b50-8888-8dd25736052a","phone":"+33612345678","type":"INBOUND",'
    '"status":"COMPLETED","duration":360}'
)
BIRD_URL = "https://bridge.example.com/webhooks/bird"
BIRD_TS = "1704067200"


def hmac_python(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def hmac_openssl(key: bytes, message: bytes) -> bytes:
    out = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hmac", key.decode("utf-8"), "-binary"],
        input=message,
        capture_output=True,
        check=True,
    )
    return out.stdout


def mac(key: str, message: bytes) -> bytes:
    key_bytes = key.encode("utf-8")
    ours = hmac_python(key_bytes, message)
    if "\0" not in key and key:  # openssl cannot take an empty or NUL key on the command line
        theirs = hmac_openssl(key_bytes, message)
        if ours != theirs:
            sys.exit(f"python and openssl disagree for key {key!r}")
    return ours


def bird_message(timestamp: str, url: str, body: bytes) -> bytes:
    # timestamp \n url \n raw SHA-256 digest of the body (32 bytes, not hex)
    return timestamp.encode() + b"\n" + url.encode() + b"\n" + hashlib.sha256(body).digest()


def signature(scheme: str, secret: str, body: bytes, timestamp=None, url=None) -> str:
    if scheme == "bird":
        return base64.b64encode(mac(secret, bird_message(timestamp, url, body))).decode()
    tag = mac(secret, body)
    if scheme == "reamaze":
        return base64.b64encode(tag).decode()
    if scheme == "voice360":
        return "sha256=" + tag.hex()
    if scheme == "volubile":
        return tag.hex()
    raise ValueError(scheme)


def body_fields(body: bytes) -> dict:
    try:
        return {"body": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body_base64": base64.b64encode(body).decode()}


def signature_vectors():
    documented = "FgdUISIrhWKi9IhRN80V37obl/NYrpXeaZvV95dmgeU="
    if signature("reamaze", "your_shared_secret", REAMAZE_DOC_BODY.encode()) != documented:
        sys.exit("this script does not reproduce Re:amaze's documented check value")
    bodies = [
        ("empty body", b""),
        ("Re:amaze documentation example", REAMAZE_DOC_BODY.encode()),
        ("unicode and escapes", '{"body":"Grüße — ☎ \\u00e9\\n","x":"a\\/b"}\r\n'.encode()),
        ("not UTF-8", bytes(range(256))),
    ]
    secrets = ["your_shared_secret", "s3cr€t with spaces", "k" * 100]
    vectors = [
        {
            "name": "Re:amaze reference text check value",
            "scheme": "reamaze",
            "secret": "your_shared_secret",
            "body": REAMAZE_DOC_BODY,
            "signature": documented,
            "source": "reamaze-custom-sms-channel.txt (the value that document's code computes)",
        }
    ]
    provider_bodies = {"voice360": VOICE360_BODY, "bird": BIRD_BODY, "volubile": VOLUBILE_BODY, "reamaze": REAMAZE_DOC_BODY}
    for scheme in ["reamaze", "voice360", "bird", "volubile"]:
        cases = bodies + [(f"{scheme} sample payload", provider_bodies[scheme].encode())]
        for body_name, body in cases:
            for secret in secrets:
                v = {"name": f"{scheme}: {body_name}", "scheme": scheme, "secret": secret, **body_fields(body)}
                if scheme == "bird":
                    v["timestamp"] = BIRD_TS
                    v["url"] = BIRD_URL
                v["signature"] = signature(scheme, secret, body, v.get("timestamp"), v.get("url"))
                v["source"] = "python hmac; openssl dgst agreed"
                vectors.append(v)
    return vectors


def verify_cases():
    """Whole verifications: headers as received, expected outcome by code, and
    the usual mistake that explains it (`cause`, the title the bridge gives it;
    none where nothing needs explaining), and where it matters how many causes
    are listed (`cause_count`: one where several mistakes give the same bytes)."""
    s = signature
    now = 1704067200
    body = VOICE360_BODY.encode()
    good_v360 = s("voice360", "whsec-two", body)
    bird_body = BIRD_BODY.encode()
    good_bird = s("bird", "bird-key", bird_body, BIRD_TS, BIRD_URL)
    vol = VOLUBILE_BODY.encode()
    cases = [
        # Voice360
        dict(name="voice360 second of two secrets", scheme="voice360", secrets=["whsec-one", "whsec-two"],
             body=VOICE360_BODY, headers={"X-Voice360-Signature": good_v360}, expect={"ok": True, "secret_index": 1, "cause": "Made with another secret than this route's"}),
        dict(name="voice360 uppercase hex is the same MAC", scheme="voice360", secrets=["whsec-two"],
             body=VOICE360_BODY, headers={"X-Voice360-Signature": "sha256=" + good_v360[7:].upper()},
             expect={"ok": True, "secret_index": 0, "cause": 'Uppercase hex'}),
        dict(name="voice360 missing header", scheme="voice360", secrets=["whsec-two"], body=VOICE360_BODY,
             headers={}, expect={"error": "missing_signature"}),
        dict(name="voice360 without sha256= prefix", scheme="voice360", secrets=["whsec-two"], body=VOICE360_BODY,
             headers={"X-Voice360-Signature": good_v360[7:]}, expect={"error": "malformed_signature", "cause": 'Missing sha256= prefix'}),
        dict(name="voice360 base64 instead of hex", scheme="voice360", secrets=["whsec-two"], body=VOICE360_BODY,
             headers={"X-Voice360-Signature": "sha256=" + s("reamaze", "whsec-two", body)},
             expect={"error": "malformed_signature", "cause": 'Base64 where hex was expected'}),
        dict(name="voice360 truncated hex", scheme="voice360", secrets=["whsec-two"], body=VOICE360_BODY,
             headers={"X-Voice360-Signature": good_v360[:-2]}, expect={"error": "malformed_signature", "cause": 'The header is not a signature of this scheme'}),
        dict(name="voice360 wrong secret", scheme="voice360", secrets=["whsec-one"], body=VOICE360_BODY,
             headers={"X-Voice360-Signature": good_v360}, expect={"error": "signature_mismatch", "cause": 'No usual mistake explains it'}),
        dict(name="voice360 body changed after signing", scheme="voice360", secrets=["whsec-two"],
             body=VOICE360_BODY + "\n", headers={"X-Voice360-Signature": good_v360},
             expect={"error": "signature_mismatch", "cause": 'The body was signed with its final newline removed', "cause_count": 1}),
        dict(name="voice360 express.json then JSON.stringify", scheme="voice360", secrets=["whsec-two"],
             body=VOICE360_BODY,
             headers={"X-Voice360-Signature": s("voice360", "whsec-two", (json.dumps(json.loads(VOICE360_BODY), indent=2) + "\n").encode())},
             expect={"error": "signature_mismatch", "cause": 'The body was parsed and written again before it was verified', "cause_count": 1}),
        dict(name="voice360 empty header", scheme="voice360", secrets=["whsec-two"], body=VOICE360_BODY,
             headers={"X-Voice360-Signature": ""}, expect={"error": "missing_signature"}),
        # Re:amaze
        dict(name="reamaze documented example", scheme="reamaze", secrets=["your_shared_secret"], body=REAMAZE_DOC_BODY,
             headers={"X-Reamaze-Hmac-SHA256": "FgdUISIrhWKi9IhRN80V37obl/NYrpXeaZvV95dmgeU="},
             expect={"ok": True, "secret_index": 0}),
        dict(name="reamaze unpadded base64", scheme="reamaze", secrets=["your_shared_secret"], body=REAMAZE_DOC_BODY,
             headers={"X-Reamaze-Hmac-SHA256": "FgdUISIrhWKi9IhRN80V37obl/NYrpXeaZvV95dmgeU"},
             expect={"ok": True, "secret_index": 0}),
        dict(name="reamaze hex instead of base64", scheme="reamaze", secrets=["your_shared_secret"],
             body=REAMAZE_DOC_BODY,
             headers={"X-Reamaze-Hmac-SHA256": s("volubile", "your_shared_secret", REAMAZE_DOC_BODY.encode())},
             expect={"error": "malformed_signature", "cause": 'Hex where base64 was expected'}),
        dict(name="reamaze another channel's secret", scheme="reamaze", secrets=["voice-channel-secret"],
             body=REAMAZE_DOC_BODY, headers={"X-Reamaze-Hmac-SHA256": "FgdUISIrhWKi9IhRN80V37obl/NYrpXeaZvV95dmgeU="},
             expect={"error": "signature_mismatch", "cause": 'No usual mistake explains it'}),
        # Volubile
        dict(name="volubile hex", scheme="volubile", secrets=["vol-secret"], body=VOLUBILE_BODY,
             headers={"X-Webhook-Signature": s("volubile", "vol-secret", vol)}, expect={"ok": True, "secret_index": 0}),
        dict(name="volubile with a sha256= prefix it does not use", scheme="volubile", secrets=["vol-secret"],
             body=VOLUBILE_BODY, headers={"X-Webhook-Signature": "sha256=" + s("volubile", "vol-secret", vol)},
             expect={"error": "malformed_signature", "cause": 'Extra sha256= prefix'}),
        dict(name="volubile missing header", scheme="volubile", secrets=["vol-secret"], body=VOLUBILE_BODY,
             headers={}, expect={"error": "missing_signature"}),
        # Bird
        dict(name="bird fresh", scheme="bird", secrets=["bird-key"], body=BIRD_BODY, url=BIRD_URL, now=now + 60,
             headers={"messagebird-signature": good_bird, "messagebird-request-timestamp": BIRD_TS},
             expect={"ok": True, "secret_index": 0}),
        dict(name="bird retry eight hours later", scheme="bird", secrets=["bird-key"], body=BIRD_BODY, url=BIRD_URL,
             now=now + 8 * 3600, headers={"messagebird-signature": good_bird, "messagebird-request-timestamp": BIRD_TS},
             expect={"ok": True, "secret_index": 0}),
        dict(name="bird older than the window", scheme="bird", secrets=["bird-key"], body=BIRD_BODY, url=BIRD_URL,
             now=now + 86400 + 1, headers={"messagebird-signature": good_bird, "messagebird-request-timestamp": BIRD_TS},
             expect={"error": "timestamp_too_old", "cause": 'Timestamp outside the window'}),
        dict(name="bird from the future", scheme="bird", secrets=["bird-key"], body=BIRD_BODY, url=BIRD_URL,
             now=now - 301, headers={"messagebird-signature": good_bird, "messagebird-request-timestamp": BIRD_TS},
             expect={"error": "timestamp_in_future", "cause": 'Timestamp outside the window'}),
        dict(name="bird timestamp in milliseconds", scheme="bird", secrets=["bird-key"], body=BIRD_BODY, url=BIRD_URL,
             now=now, headers={"messagebird-signature": s("bird", "bird-key", bird_body, BIRD_TS + "000", BIRD_URL),
                               "messagebird-request-timestamp": BIRD_TS + "000"},
             expect={"error": "timestamp_in_future", "cause": 'Timestamp in milliseconds'}),
        dict(name="bird missing timestamp", scheme="bird", secrets=["bird-key"], body=BIRD_BODY, url=BIRD_URL, now=now,
             headers={"messagebird-signature": good_bird}, expect={"error": "missing_signature"}),
        dict(name="bird non-numeric timestamp", scheme="bird", secrets=["bird-key"], body=BIRD_BODY, url=BIRD_URL,
             now=now, headers={"messagebird-signature": good_bird, "messagebird-request-timestamp": "yesterday"},
             expect={"error": "malformed_timestamp"}),
        dict(name="bird URL differs (trailing slash)", scheme="bird", secrets=["bird-key"], body=BIRD_BODY,
             url=BIRD_URL + "/", now=now,
             headers={"messagebird-signature": good_bird, "messagebird-request-timestamp": BIRD_TS},
             expect={"error": "signature_mismatch", "cause": 'Bird signed another URL: no trailing slash'}),
        dict(name="bird body hash taken as hex", scheme="bird", secrets=["bird-key"], body=BIRD_BODY, url=BIRD_URL,
             now=now, headers={
                 "messagebird-signature": base64.b64encode(mac("bird-key", BIRD_TS.encode() + b"\n" + BIRD_URL.encode()
                                                               + b"\n" + hashlib.sha256(bird_body).hexdigest().encode())).decode(),
                 "messagebird-request-timestamp": BIRD_TS},
             expect={"error": "signature_mismatch", "cause": "Bird's body hash taken as hex"}),
    ]
    for case in cases:
        case.setdefault("now", now)
    return cases


def render(data) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def main():
    outputs = {
        HERE / "signatures.json": render({
            "about": "HMAC-SHA256 signatures computed by tests/vectors/generate_signatures.py with Python's "
                     "hmac, each checked against openssl dgst. Bodies are UTF-8 text in `body`, or raw bytes "
                     "in `body_base64`.",
            "vectors": signature_vectors(),
        }),
        HERE / "verify-cases.json": render({
            "about": "Whole verifications: received headers (names as senders write them), configured secrets, "
                     "the clock (`now`, Unix seconds; Bird's window is 86400 s back and 300 s ahead), and the "
                     "expected result: ok with the matching secret's index, or an error code; and `cause`, the "
                     "usual mistake the bridge names first (the title of its likely cause), where one explains it; "
                     "and `cause_count`, how many causes it lists, where several mistakes give the same bytes.",
            "cases": verify_cases(),
        }),
    }
    if "--check" in sys.argv:
        stale = [p.name for p, text in outputs.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
        if stale:
            sys.exit(f"out of date (run {Path(__file__).name}): {', '.join(stale)}")
        print("signature vectors: up to date with their generator")
        return
    for path, text in outputs.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(HERE.parent.parent)}")


if __name__ == "__main__":
    main()
