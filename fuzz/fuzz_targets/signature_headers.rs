//! Every scheme's header parser, verifier and mistake-finder on any header,
//! timestamp, URL and body: never a panic, never accepted unless it really
//! is the MAC, and the finder verifies as the verifier does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reamaze_bridge::mistakes::{self, Checked};
use reamaze_bridge::providers;
use reamaze_bridge::signature::{self, Signed, Window};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\u{1f}');
    let (header, timestamp, url, body) =
        (parts.next().unwrap_or(""), parts.next(), parts.next(), parts.next().unwrap_or("").as_bytes());
    for scheme in providers::schemes() {
        let _ = signature::parse_header(scheme, Some(header));
        let signed = Signed { body, timestamp, url };
        let verified = signature::verify(scheme, &["fuzz-secret"], &signed, Some(header), Window::at(1_704_067_200));
        let secrets = [b"fuzz-secret".to_vec()];
        let checked =
            Checked { scheme, secrets: &secrets, signed, received: Some(header), window: Window::at(1_704_067_200) };
        assert_eq!(mistakes::diagnose(&checked, 1 << 16).verified, verified);
        if verified.is_ok() {
            let expected = signature::sign(scheme, b"fuzz-secret", &signed).unwrap();
            assert_eq!(
                signature::parse_header(scheme, Some(&expected)).unwrap(),
                signature::parse_header(scheme, Some(header)).unwrap(),
                "accepted a header that is not the MAC"
            );
        }
    }
});
