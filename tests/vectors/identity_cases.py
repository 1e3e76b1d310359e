#!/usr/bin/env python3
"""Writes the identity vectors: one case or more for each kind of party
(a number, a withheld caller by each marker, an SMS sender name, a short
code, junk), for every provider, and for VOICE_THREAD_MINUTES.

The identity a withheld party is posted with is computed here with Python's
hashlib, outside the bridge's code: the first 8 bytes of SHA-256 of the
message's conversation id, in hex, after "withheld:".

Run it after changing a case: it replaces the cases whose `source` is this
file in each translations/*.json and leaves every other case as it is.
"""

import hashlib
import json
import pathlib

HERE = pathlib.Path(__file__).parent / "translations"
SOURCE = "identity_cases.py"
WITHHELD_NAME = "Withheld number"
CALL_AT = 1704067200  # 2024-01-01T00:00:00Z


def withheld(thread):
    return "withheld:" + hashlib.sha256(thread.encode()).digest()[:8].hex()


def iso(seconds, millis):
    import datetime

    at = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return at.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}+00:00"


def case(name, provider, payload, expect, settings=None, before=None):
    c = {"name": name, "source": SOURCE, "provider": provider}
    if settings:
        c["settings"] = settings
    if before:
        c["before"] = before
    c["payload"] = payload
    c["expect"] = expect
    return c


def voice(message):
    return {"channel": "voice", "message": message}


def sms(message):
    return {"channel": "sms", "message": message}


def v360(event, metadata, at=CALL_AT):
    return {"event_name": event, "account_id": "12345", "timestamp": at, "metadata": metadata}


def v360_incoming(uniqueid, caller, at=CALL_AT, name=None):
    metadata = {"dnis": "+15559876543", "uniqueid": uniqueid}
    if caller is not None:
        metadata["caller_id_number"] = caller
    if name is not None:
        metadata["caller_id_name"] = name
    return v360("INCOMING_EXTERNAL_CALL", metadata, at)


def v360_withheld_incoming(uniqueid, name=None):
    thread = f"voice360:{uniqueid}"
    return {
        "id": f"voice360:INCOMING_EXTERNAL_CALL:{uniqueid}", "direction": "inbound",
        "from": {"name": name or WITHHELD_NAME, "phone": withheld(thread)}, "to": {"phone": "+15559876543"},
        "body": f"Incoming call from {name or 'a withheld number'}", "thread_id": thread, "created_at": iso(CALL_AT, 0),
    }


def voice360_cases():
    cases = []
    for marker, uniqueid in [("", "w1"), ("Anonymous", "w2"), ("RESTRICTED", "w3"), ("+0", "w4"),
                             ("sip:anonymous@anonymous.invalid", "w5"), ("unavailable", "w6"), ("Withheld", "w7")]:
        cases.append(case(f"withheld caller {marker!r}: posted with an identity of the call's own",
                          "voice360", v360_incoming(uniqueid, marker, name="Anonymous" if marker == "Anonymous" else None),
                          {"messages": [voice(v360_withheld_incoming(uniqueid))]}))
    cases.append(case("missing the caller's number: withheld, named as the event names the caller", "voice360",
                      v360_incoming("1", None, name="John Doe"),
                      {"messages": [voice(v360_withheld_incoming("1", name="John Doe"))]}))
    answer = v360("USER_ANSWER", {"caller_id_number": "anonymous", "to_user_id": "67890", "uniqueid": "w1"})
    cases.append(case("USER_ANSWER of a withheld call: the same identity as the call's first message", "voice360",
                      answer, {"messages": [voice({
                          "id": "voice360:USER_ANSWER:w1:67890", "direction": "inbound",
                          "from": {"name": WITHHELD_NAME, "phone": withheld("voice360:w1")}, "to": {"phone": "+15559876543"},
                          "body": "Answered by user 67890", "thread_id": "voice360:w1", "created_at": iso(CALL_AT, 300)})]},
                      before=[v360_incoming("w1", "")]))
    cases += voice360_sms_cases()
    cases.append(case("junk: a 3,000-digit number is refused, naming the field", "voice360",
                      v360("SMS_RECEIVED", {"from_number": "1" * 3000, "to_number": "+16501234567", "body": "hi", "message_id": "j1"}),
                      {"error": {"code": "invalid_field", "status": 400, "field": "metadata.from_number"}}))
    cases.append(case("junk: letters in a number are refused, naming the field", "voice360",
                      v360_incoming("j2", "+1555CALLME"),
                      {"error": {"code": "invalid_field", "status": 400, "field": "metadata.caller_id_number"}}))
    cases += voice360_thread_cases()
    return cases


def voice360_sms_cases():
    def received(sender, message_id):
        return v360("SMS_RECEIVED", {"from_number": sender, "to_number": "+16501234567", "body": "Your code is 1234",
                                     "message_id": message_id})

    def message(message_id, party, thread):
        return sms({"id": f"voice360:SMS_RECEIVED:{message_id}", "direction": "inbound", "from": party,
                    "to": {"phone": "+16501234567"}, "body": "Your code is 1234", "thread_id": thread,
                    "created_at": iso(CALL_AT, 0)})

    cases = [
        case("SMS from an alphanumeric sender: its own conversation, named by it", "voice360", received("ACME", "s1"),
             {"messages": [message("s1", {"name": "ACME", "phone": "ACME"}, "voice360:sms:+16501234567:ACME")]}),
        case("SMS from a short code: a number", "voice360", received("72345", "s2"),
             {"messages": [message("s2", {"phone": "72345"}, "voice360:sms:+16501234567:72345")]}),
    ]
    for marker, message_id in [("anonymous", "s3"), ("Restricted", "s4"), ("unknown", "s5"), ("private", "s6")]:
        thread = f"voice360:SMS_RECEIVED:{message_id}"
        cases.append(case(f"SMS from a withheld sender {marker!r}: a conversation of its own", "voice360",
                          received(marker, message_id),
                          {"messages": [message(message_id, {"name": WITHHELD_NAME, "phone": withheld(thread)}, thread)]}))
    return cases


def voice360_thread_cases():
    settings = {"VOICE_THREAD_MINUTES": "10"}
    first = [v360_incoming("t1", "+15551234567"),
             v360("CALL_ENDED", {"caller_id_number": "+15551234567", "dnis": "+15559876543", "uniqueid": "t1",
                                 "call_direction": "inbound", "duration": 30}, CALL_AT + 30)]

    def call_back(uniqueid, at, thread):
        return {"messages": [voice({
            "id": f"voice360:INCOMING_EXTERNAL_CALL:{uniqueid}", "direction": "inbound",
            "from": {"phone": "+15551234567"}, "to": {"phone": "+15559876543"},
            "body": "Incoming call from +15551234567", "thread_id": thread, "created_at": iso(at, 0)})]}

    return [
        case("VOICE_THREAD_MINUTES: a call 9 minutes after the caller's missed call joins its conversation",
             "voice360", v360_incoming("t2", "+1 555 123 4567", CALL_AT + 570),
             {"messages": [voice({**call_back("t2", CALL_AT + 570, "voice360:t1")["messages"][0]["message"],
                                  "from": {"phone": "+1 555 123 4567"}, "body": "Incoming call from +1 555 123 4567"})]},
             settings, first),
        case("VOICE_THREAD_MINUTES: a call 11 minutes after is a conversation of its own", "voice360",
             v360_incoming("t3", "+15551234567", CALL_AT + 30 + 660), call_back("t3", CALL_AT + 690, "voice360:t3"),
             settings, first),
        case("VOICE_THREAD_MINUTES: a withheld caller never joins another call", "voice360",
             v360_incoming("t4", "anonymous", CALL_AT + 60),
             {"messages": [voice({**v360_withheld_incoming("t4"), "created_at": iso(CALL_AT + 60, 0)})]},
             settings, [v360_incoming("t0", "")]),
    ]


def bird_call(call_id, status, party, at="2026-03-02T09:15:00Z", extra=None):
    call = {"id": call_id, "direction": "incoming", "status": status, "to": "+31201234567", "createdAt": at}
    call.update(party)
    call.update(extra or {})
    return {"service": "channels", "event": "voice.inbound", "payload": call}


def bird_cases():
    def starting(call_id, from_party, body, at="2026-03-02T09:15:00+00:00", thread=None):
        return {"messages": [voice({
            "id": f"bird:{call_id}:starting", "direction": "inbound", "from": from_party, "to": {"phone": "+31201234567"},
            "body": body, "thread_id": thread or f"bird:{call_id}", "created_at": at})]}

    cases = []
    for marker, call_id in [("", "bw1"), ("anonymous", "bw2"), ("Private", "bw3")]:
        cases.append(case(f"withheld caller {marker!r}: posted with an identity of the call's own", "bird",
                          bird_call(call_id, "starting", {"from": marker}),
                          starting(call_id, {"name": WITHHELD_NAME, "phone": withheld(f"bird:{call_id}")},
                                   "Incoming call from a withheld number")))
    cases.append(case("no customer number: withheld", "bird", bird_call("abc", "starting", {}),
                      starting("abc", {"name": WITHHELD_NAME, "phone": withheld("bird:abc")},
                               "Incoming call from a withheld number")))
    cases.append(case("junk: letters in a number are refused, naming the field", "bird",
                      bird_call("bj", "starting", {"from": "+1555CALLME"}),
                      {"error": {"code": "invalid_field", "status": 400, "field": "payload.from"}}))
    settings = {"VOICE_THREAD_MINUTES": "30"}
    before = [bird_call("bt1", "starting", {"from": "+31612345678"}),
              bird_call("bt1", "no-answer", {"from": "+31612345678"}, extra={"endedAt": "2026-03-02T09:15:40Z"})]
    cases.append(case("VOICE_THREAD_MINUTES: the call back 20 minutes later joins the missed call's conversation",
                      "bird", bird_call("bt2", "starting", {"from": "+31612345678"}, at="2026-03-02T09:35:00Z"),
                      starting("bt2", {"phone": "+31612345678"}, "Incoming call from +31612345678",
                               at="2026-03-02T09:35:00+00:00", thread="bird:bt1"),
                      settings, before))
    return cases


def volubile_cases():
    def call(call_id, party):
        return {"id": call_id, "type": "INBOUND", "status": "COMPLETED", "duration": 42, **party}

    def expect(call_id, body_note=" (the caller withheld their number)"):
        return {"messages": [voice({
            "id": f"volubile:{call_id}", "direction": "inbound",
            "from": {"name": WITHHELD_NAME, "phone": withheld(f"volubile:{call_id}")},
            "to": {"name": "Volubile AI agent", "phone": "+33100000000"},
            "body": f"Inbound call with the AI agent: completed after 0:00:42{body_note}",
            "thread_id": f"volubile:{call_id}"})]}

    settings = {"VOLUBILE_NUMBER": "+33100000000"}
    return [
        case("anonymous: true: an identity of the call's own, whatever phone holds", "volubile",
             call("vw1", {"anonymous": True, "phone": "anonymous"}), expect("vw1"), settings),
        case("no phone and not anonymous: withheld", "volubile", call("vw2", {}), expect("vw2"), settings),
        case("a marker for the phone: withheld", "volubile", call("vw3", {"phone": "Restricted"}), expect("vw3"), settings),
        case("junk: 3,000 digits are refused, naming the field", "volubile", call("vj", {"phone": "9" * 3000}),
             {"error": {"code": "invalid_field", "status": 400, "field": "phone"}}, settings),
    ]


def reply_cases():
    settings = {"SMS_CHANNEL_NUMBER": "+16501234567"}
    return [
        case("the customer was a withheld caller: nothing is sent", "reamaze-reply",
             {"to": {"name": WITHHELD_NAME, "phone": withheld("voice360:SMS_RECEIVED:s3")},
              "from": {"phone": "+16501234567"}, "body": "Hi"},
             {"error": {"code": "customer_withheld", "status": 422}}, settings),
        case("the customer is an SMS sender name: nothing is sent", "reamaze-reply",
             {"to": {"name": "ACME", "phone": "ACME"}, "from": {"phone": "+16501234567"}, "body": "Hi"},
             {"error": {"code": "customer_not_textable", "status": 422}}, settings),
    ]


def write(file, cases):
    path = HERE / file
    # The generated cases stand one a line: those of an earlier run go.
    lines = [line for line in path.read_text().splitlines() if f'"source": "{SOURCE}"' not in line]
    text = "\n".join(lines).rstrip()
    assert text.endswith("]\n}"), file
    head = text[: text.rfind("]")].rstrip().rstrip(",")
    kept = {c["name"] for c in json.loads(head + "\n]}")["cases"]}
    clash = [c["name"] for c in cases if c["name"] in kept]
    assert not clash, f"names already used in {file}: {clash}"
    generated = ",\n".join("    " + json.dumps(c, ensure_ascii=False) for c in cases)
    path.write_text(head + ",\n" + generated + "\n  ]\n}\n")


if __name__ == "__main__":
    write("voice360.json", voice360_cases())
    write("bird.json", bird_cases())
    write("volubile.json", volubile_cases())
    write("reamaze-reply.json", reply_cases())
