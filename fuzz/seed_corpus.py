#!/usr/bin/env python3
"""Seeds fuzz/corpus/ from the shared test vectors (tests/vectors/): every
reference payload, signature case and staff reply, in each target's input
layout. Run again after the vectors change."""
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
VECTORS = HERE.parent / "tests" / "vectors"
PROVIDERS = {"voice360": 0, "bird": 1, "volubile": 2}
ROUTES = {"voice360": 0, "bird": 1, "volubile": 2, "reamaze-reply": 3}


def write(target, name, data):
    folder = HERE / "corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def payload(case):
    return case["payload_text"].encode() if "payload_text" in case else json.dumps(case["payload"]).encode()


for file in sorted((VECTORS / "translations").glob("*.json")):
    for i, case in enumerate(json.loads(file.read_text())["cases"]):
        body = payload(case)
        if case["provider"] in PROVIDERS:
            write("translate", f"{file.stem}-{i}", bytes([PROVIDERS[case["provider"]]]) + body)
        else:
            write("staff_reply", f"{file.stem}-{i}", body)
        write("bridge", f"{file.stem}-{i}", bytes([ROUTES[case["provider"]]]) + body)

for i, case in enumerate(json.loads((VECTORS / "verify-cases.json").read_text())["cases"]):
    headers = {k.lower(): v for k, v in case["headers"].items()}
    header = next((v for k, v in headers.items() if k != "messagebird-request-timestamp"), "")
    parts = [header, headers.get("messagebird-request-timestamp", ""), case.get("url", ""), case["body"]]
    write("signature_headers", f"verify-{i}", "\x1f".join(parts).encode())
for i, case in enumerate(json.loads((VECTORS / "hostile.json").read_text())["cases"]):
    if "body" in case and "{repeat:" not in case["body"]:
        write("json", f"hostile-{i}", bytes([31]) + case["body"].encode())
    elif "body_hex" in case:
        write("json", f"hostile-{i}", bytes([31]) + bytes.fromhex(case["body_hex"]))
for file in sorted((VECTORS / "translations").glob("*.json")):
    for i, case in enumerate(json.loads(file.read_text())["cases"]):
        write("json", f"{file.stem}-{i}", bytes([31]) + payload(case))
print("seeded", sum(1 for _ in (HERE / "corpus").rglob("*") if _.is_file()), "corpus files")
