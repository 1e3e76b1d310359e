//! The `reamaze-bridge` command, run as a user runs it, over the shared
//! vectors.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use base64::Engine;

use serde_json::Value;

fn run(args: &[&str], stdin: &[u8]) -> Output {
    run_with(args, &[], stdin)
}

/// Runs the CLI with only `env` in its environment.
fn run_with(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reamaze-bridge"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the CLI starts");
    // A usage error exits before reading stdin: a broken pipe here is fine.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn vectors(file: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors").join(file);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn body_of(v: &Value) -> Vec<u8> {
    match v.get("body").and_then(Value::as_str) {
        Some(text) => text.as_bytes().to_vec(),
        None => base64::engine::general_purpose::STANDARD.decode(v["body_base64"].as_str().unwrap()).unwrap(),
    }
}

#[test]
fn sign_and_verify_every_signature_vector() {
    for v in vectors("signatures.json")["vectors"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let mut args = vec!["--scheme", v["scheme"].as_str().unwrap(), "--secret", v["secret"].as_str().unwrap()];
        for key in ["timestamp", "url"] {
            if let Some(value) = v.get(key).and_then(Value::as_str) {
                args.extend([if key == "url" { "--url" } else { "--timestamp" }, value]);
            }
        }
        let body = body_of(v);
        let expected = v["signature"].as_str().unwrap();
        let signed = run(&[&["sign"], args.as_slice()].concat(), &body);
        assert!(signed.status.success(), "{name}: {}", String::from_utf8_lossy(&signed.stderr));
        assert_eq!(String::from_utf8(signed.stdout).unwrap().trim_end(), expected, "{name}");

        let now = v.get("timestamp").and_then(Value::as_str).unwrap_or("0");
        let verified = run(&[&["verify"], args.as_slice(), &["--signature", expected, "--now", now]].concat(), &body);
        assert!(verified.status.success(), "{name}: {}", String::from_utf8_lossy(&verified.stderr));
        let tampered = [body.as_slice(), b"x"].concat();
        let refused =
            run(&[&["verify"], args.as_slice(), &["--signature", expected, "--now", now]].concat(), &tampered);
        assert_eq!(refused.status.code(), Some(1), "{name}");
        assert!(String::from_utf8_lossy(&refused.stderr).contains("signature_mismatch"), "{name}");
    }
}

#[test]
fn verify_says_why() {
    let out = run(&["verify", "--scheme", "voice360", "--secret", "s", "--signature", "deadbeef"], b"{}");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("must start with \"sha256=\""), "{stderr}");
    let out = run(&["verify", "--scheme", "bird", "--secret", "s", "--signature", "x"], b"{}");
    assert_eq!(out.status.code(), Some(2), "Bird without a URL is a usage error");
    let out = run(&["sign", "--scheme", "volubile"], b"{}");
    assert_eq!(out.status.code(), Some(2), "no secret given nor in the environment");
}

/// Each verification of the vectors, through `verify`: the likely cause the
/// vectors name is printed with the verdict.
#[test]
fn verify_names_the_likely_cause_of_each_vector() {
    for case in vectors("verify-cases.json")["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let scheme = case["scheme"].as_str().unwrap();
        let header = |wanted: &str| {
            let headers = case["headers"].as_object().unwrap();
            headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(wanted)).map(|(_, v)| v.as_str().unwrap())
        };
        let signature_header = reamaze_bridge::providers::scheme_named(scheme).unwrap().header();
        let now = case["now"].to_string();
        let mut args =
            vec!["verify", "--scheme", scheme, "--signature", header(signature_header).unwrap_or(""), "--now", &now];
        for secret in case["secrets"].as_array().unwrap() {
            args.extend(["--secret", secret.as_str().unwrap()]);
        }
        if let Some(url) = case.get("url").and_then(Value::as_str) {
            args.extend(["--url", url]);
        }
        if let Some(timestamp) = header("messagebird-request-timestamp") {
            args.extend(["--timestamp", timestamp]);
        }
        let out = run(&args, case["body"].as_str().unwrap().as_bytes());
        let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.success(), case["expect"]["ok"] == true, "{name}: {printed}");
        match case["expect"].get("cause").and_then(Value::as_str) {
            Some(cause) => assert!(printed.contains(&format!(": {cause}. ")), "{name}: {printed}"),
            None => assert!(!printed.contains("likely cause") && !printed.contains("note:"), "{name}: {printed}"),
        }
    }
}

#[test]
fn translate_reference_examples() {
    for provider in reamaze_bridge::providers::ALL {
        for case in vectors(&format!("translations/{}.json", provider.name()))["cases"].as_array().unwrap() {
            if case.get("before").is_some() || case.get("payload").is_none() {
                continue; // sequences are shown in translate_a_sequence
            }
            let name = case["name"].as_str().unwrap();
            let mut args = vec!["translate".to_string(), case["provider"].as_str().unwrap().to_string()];
            let flags = [("VOLUBILE_NUMBER", "--volubile-number"), ("BIRD_POST_STATUSES", "--bird-statuses")];
            // The settings with a flag are given by it; the others through the environment.
            let mut env = Vec::new();
            for (key, value) in case.get("settings").and_then(Value::as_object).into_iter().flatten() {
                let value = value.as_str().unwrap();
                match flags.iter().find(|(name, _)| name == key) {
                    Some((_, flag)) => args.extend([flag.to_string(), value.to_string()]),
                    None => env.push((key.as_str(), value)),
                }
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = run_with(&args, &env, &serde_json::to_vec(&case["payload"]).unwrap());
            let printed: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{name}: {e}"));
            let expect = &case["expect"];
            if let Some(messages) = expect.get("messages").and_then(Value::as_array) {
                assert!(out.status.success(), "{name}");
                let bodies: Vec<&Value> =
                    printed["messages"].as_array().unwrap().iter().map(|m| &m["message"]).collect();
                let wanted: Vec<&Value> = messages.iter().map(|m| &m["message"]).collect();
                assert_eq!(bodies, wanted, "{name}");
                for m in printed["messages"].as_array().unwrap() {
                    let endpoint = format!("https://www.reamaze.io/incoming/{}", m["channel"].as_str().unwrap());
                    assert_eq!(m["endpoint"], Value::String(endpoint), "{name}");
                }
            } else if let Some(reason) = expect.get("ignored") {
                assert!(out.status.success(), "{name}");
                assert_eq!(&printed["ignored"], reason, "{name}");
            } else if let Some(reason) = expect.get("held") {
                assert!(out.status.success(), "{name}");
                assert_eq!(&printed["held"], reason, "{name}");
            } else {
                assert_eq!(out.status.code(), Some(1), "{name}");
                assert_eq!(printed["error"]["code"], expect["error"]["code"], "{name}");
            }
        }
    }
}

#[test]
fn translate_a_sequence_remembers_the_call() {
    let case = vectors("translations/voice360.json")["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str().unwrap().starts_with("TRANSCRIPTION_FINISHED with the documented"))
        .cloned()
        .unwrap();
    let mut input = Vec::new();
    for doc in case["before"].as_array().unwrap().iter().chain([&case["payload"]]) {
        input.extend(serde_json::to_vec(doc).unwrap());
        input.push(b'\n');
    }
    let out = run(&["translate", "voice360"], &input);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Vec<Value> =
        serde_json::Deserializer::from_slice(&out.stdout).into_iter().map(Result::unwrap).collect();
    assert_eq!(printed.len(), 2);
    assert_eq!(printed[1]["messages"][0]["message"], case["expect"]["messages"][0]["message"]);
}

#[test]
fn translate_a_staff_reply() {
    let case = &vectors("translations/reamaze-reply.json")["cases"][0];
    let out = run(
        &["translate", "reamaze-reply", "--sms-channel-number", "+16501234567"],
        &serde_json::to_vec(&case["payload"]).unwrap(),
    );
    assert!(out.status.success());
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["sms"], case["expect"]["sms"]);
}
