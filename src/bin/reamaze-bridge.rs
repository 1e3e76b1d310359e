//! `reamaze-bridge`: sign, verify and translate from a terminal or a script.
//! Bodies and payloads are read from standard input, byte for byte.

use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use reamaze_bridge::error::Error;
use reamaze_bridge::mistakes::{self, Checked};
use reamaze_bridge::providers::{self, Preview, Provider, SmsApi};
use reamaze_bridge::reamaze::{reply_to_sms, StaffReply};
use reamaze_bridge::settings::names;
use reamaze_bridge::signature::{self, Scheme, Signed, Window};
use reamaze_bridge::{MemoryStore, Settings};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(
    name = "reamaze-bridge",
    version,
    about = "Sign, verify and translate webhooks between phone providers and Re:amaze"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the signature header value for the body on stdin.
    Sign {
        #[command(flatten)]
        scheme: SchemeArgs,
        /// For a scheme that signs a timestamp: the Unix seconds to sign (default: now, printed to stderr).
        #[arg(long)]
        timestamp: Option<String>,
    },
    /// Check a signature over the body on stdin: exit 0 when it holds,
    /// 1 with the reason when it does not.
    Verify {
        #[command(flatten)]
        scheme: SchemeArgs,
        /// The received signature header value.
        #[arg(long)]
        signature: String,
        /// For a scheme that signs a timestamp: the received timestamp header.
        #[arg(long)]
        timestamp: Option<String>,
        /// The clock, in Unix seconds, for a timestamp's freshness window (default: now).
        #[arg(long)]
        now: Option<i64>,
        /// How old a signed timestamp may be, in seconds [env: the scheme's max-age setting, default 86400].
        #[arg(long)]
        max_age: Option<u64>,
    },
    /// Print, as JSON, the Re:amaze messages a provider payload on stdin
    /// becomes, or why it is ignored. Several payloads in a row (JSON lines)
    /// are translated in order, remembering calls between them, as the bridge does.
    Translate {
        /// Whose payload: a provider, or `reamaze-reply` for a staff SMS reply.
        #[arg(value_parser = source_parser())]
        source: Source,
        /// Re:amaze base URL for the endpoints shown [env: REAMAZE_BASE_URL].
        #[arg(long)]
        reamaze_base_url: Option<String>,
        /// The number behind the Re:amaze SMS channel [env: SMS_CHANNEL_NUMBER].
        #[arg(long)]
        sms_channel_number: Option<String>,
        // And a flag for each provider setting that declares one
        // (`provider_flags`).
    },
}

#[derive(clap::Args)]
struct SchemeArgs {
    #[arg(long, value_parser = scheme_parser())]
    scheme: &'static Scheme,
    /// A signing secret; repeat to try several. Default: the scheme's setting
    /// from the environment (its provider's secrets, or REAMAZE_VOICE_SECRET
    /// and REAMAZE_SMS_SECRET), which keeps secrets out of the process list.
    #[arg(long = "secret")]
    secrets: Vec<String>,
    /// For a scheme that signs the URL: the full URL the webhook is sent to
    /// [env: the scheme's URL setting].
    #[arg(long)]
    url: Option<String>,
}

/// The core's schemes, by the names it gives them.
fn scheme_parser() -> impl clap::builder::TypedValueParser<Value = &'static Scheme> {
    let names: Vec<&str> = providers::schemes().map(Scheme::name).collect();
    PossibleValuesParser::new(names).map(|name| providers::scheme_named(&name).expect("a scheme's own name"))
}

/// Whose payload `translate` reads: a provider, or a Re:amaze staff reply.
#[derive(Clone, Copy)]
enum Source {
    Provider(Provider),
    ReamazeReply,
}

const REAMAZE_REPLY: &str = "reamaze-reply";

/// The core's providers, by the names it gives them, and `reamaze-reply`.
fn source_parser() -> impl clap::builder::TypedValueParser<Value = Source> {
    let names = providers::ALL.map(Provider::name).into_iter().chain([REAMAZE_REPLY]);
    PossibleValuesParser::new(names).map(|name| match name.parse() {
        Ok(provider) => Source::Provider(provider),
        Err(_) => Source::ReamazeReply,
    })
}

/// Each scheme as the core describes it: its header, what it signs and
/// the settings it reads, for `sign --help` and `verify --help`.
fn schemes_help() -> String {
    let mut help = String::from("Schemes:");
    for scheme in providers::schemes() {
        let prefix = scheme.prefix.map(|p| format!("{p} + ")).unwrap_or_default();
        let secrets = providers::secret_settings(scheme).join(" or ");
        help.push_str(&format!(
            "\n  {}: {}, {prefix}{}; secrets from {secrets}",
            scheme.name,
            scheme.header,
            scheme.encoding.name()
        ));
        if let Some(stamp) = &scheme.stamp {
            help.push_str(&format!(
                "\n    also signs --timestamp ({}) and --url ({}); max age from {}",
                stamp.header, stamp.url_setting, stamp.max_age_setting
            ));
        }
    }
    help
}

/// A failure to report: the message for stderr and the exit code.
struct Failure(String, u8);

/// `translate`'s flag for each provider setting that declares one
/// (`Declared::flag`), by the setting's name.
fn provider_flags(translate: clap::Command) -> clap::Command {
    providers::declared().fold(translate, |command, setting| match &setting.flag {
        Some(flag) => {
            let help = format!("{} [env: {}]", flag.about, setting.name);
            command.arg(clap::Arg::new(setting.name).long(flag.long).value_name("VALUE").help(help))
        }
        None => command,
    })
}

/// The provider settings given by their flags.
fn flags_given(matches: &clap::ArgMatches) -> Vec<(&'static str, Option<String>)> {
    let Some(("translate", translate)) = matches.subcommand() else { return Vec::new() };
    let flagged = providers::declared().filter(|setting| setting.flag.is_some());
    flagged.map(|setting| (setting.name, translate.get_one::<String>(setting.name).cloned())).collect()
}

fn main() -> ExitCode {
    let schemes = schemes_help();
    let command = Cli::command()
        .mut_subcommand("sign", |c| c.after_help(schemes.clone()))
        .mut_subcommand("verify", |c| c.after_help(schemes.clone()))
        .mut_subcommand("translate", provider_flags);
    let matches = command.get_matches();
    let flags = flags_given(&matches);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let result = match cli.command {
        Command::Sign { scheme, timestamp } => sign(scheme, timestamp),
        Command::Verify { scheme, signature, timestamp, now, max_age } => {
            verify(scheme, signature, timestamp, now, max_age)
        }
        Command::Translate { source, reamaze_base_url, sms_channel_number } => {
            let mut overrides =
                vec![(names::REAMAZE_BASE_URL, reamaze_base_url), (names::SMS_CHANNEL_NUMBER, sms_channel_number)];
            overrides.extend(flags);
            translate(source, &overrides)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message, code)) => {
            eprintln!("reamaze-bridge: {message}");
            ExitCode::from(code)
        }
    }
}

fn usage(message: impl Into<String>) -> Failure {
    Failure(message.into(), 2)
}

fn stdin_bytes() -> Result<Vec<u8>, Failure> {
    let mut body = Vec::new();
    io::stdin().read_to_end(&mut body).map_err(|e| usage(format!("cannot read stdin: {e}")))?;
    Ok(body)
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The secrets to use: the flags, else the scheme's settings.
fn secrets(args: &SchemeArgs) -> Result<Vec<String>, Failure> {
    if !args.secrets.is_empty() {
        return Ok(args.secrets.clone());
    }
    let settings = providers::secret_settings(args.scheme);
    let found: Vec<String> = settings
        .iter()
        .filter_map(|name| env(name))
        .flat_map(|v| v.split(',').map(|s| s.trim().to_string()).collect::<Vec<_>>())
        .filter(|s| !s.is_empty())
        .collect();
    if found.is_empty() {
        return Err(usage(format!("give --secret, or set {}", settings.join(" or "))));
    }
    Ok(found)
}

/// The URL a stamped scheme signs: the flag, else the scheme's setting.
fn signed_url(args: &SchemeArgs) -> Result<Option<String>, Failure> {
    let Some(stamp) = &args.scheme.stamp else { return Ok(args.url.clone()) };
    let url = args.url.clone().or_else(|| env(stamp.url_setting));
    if url.is_none() {
        let (title, setting) = (args.scheme.title, stamp.url_setting);
        return Err(usage(format!("{title} signs the request URL: give --url (or set {setting})")));
    }
    Ok(url)
}

fn sign(args: SchemeArgs, timestamp: Option<String>) -> Result<(), Failure> {
    let secret = secrets(&args)?.remove(0);
    let url = signed_url(&args)?;
    let scheme = args.scheme;
    let timestamp = match (&scheme.stamp, timestamp) {
        (Some(_), None) => {
            let now = now().to_string();
            eprintln!("timestamp: {now}");
            Some(now)
        }
        (_, given) => given,
    };
    let body = stdin_bytes()?;
    let signed = Signed { body: &body, timestamp: timestamp.as_deref(), url: url.as_deref() };
    let header = signature::sign(scheme, secret.as_bytes(), &signed).map_err(|e| usage(e.to_string()))?;
    println!("{header}");
    Ok(())
}

fn verify(
    args: SchemeArgs,
    received: String,
    timestamp: Option<String>,
    now_arg: Option<i64>,
    max_age: Option<u64>,
) -> Result<(), Failure> {
    let secrets = secrets(&args)?;
    let url = signed_url(&args)?;
    let scheme = args.scheme;
    let age_setting = scheme.stamp.as_ref().and_then(|stamp| env(stamp.max_age_setting));
    let default_age = age_setting.and_then(|v| v.parse().ok()).unwrap_or(Window::DEFAULT_MAX_AGE);
    let window = Window { max_age: max_age.unwrap_or(default_age), ..Window::at(now_arg.unwrap_or_else(now)) };
    let body = stdin_bytes()?;
    let signed = Signed { body: &body, timestamp: timestamp.as_deref(), url: url.as_deref() };
    let secrets: Vec<Vec<u8>> = secrets.into_iter().map(String::into_bytes).collect();
    let checked = Checked { scheme, secrets: &secrets, signed, received: Some(&received), window };
    let diagnosis = mistakes::diagnose(&checked, mistakes::DEFAULT_BUDGET);
    let causes = |label: &str| {
        diagnosis.causes.iter().map(|cause| format!("\n{label}: {}. {}", cause.title, cause.detail)).collect::<String>()
    };
    match &diagnosis.verified {
        Ok(verified) => {
            let index = verified.secret_index + 1;
            println!("valid: {scheme} signature, secret {index} of {}{}", secrets.len(), causes("note"));
            Ok(())
        }
        Err(e) => Err(Failure(format!("invalid: {e} ({}){}", e.code(), causes("likely cause")), 1)),
    }
}

fn translate(source: Source, overrides: &[(&str, Option<String>)]) -> Result<(), Failure> {
    let settings = Settings::from_lookup(|name| {
        overrides.iter().find(|(n, _)| *n == name).and_then(|(_, v)| v.clone()).or_else(|| env(name))
    })
    .map_err(|e| usage(e.to_string()))?;
    let input = stdin_bytes()?;
    // Several JSON documents in a row are translated one by one, each as
    // its exact bytes; anything else (one payload, or input that is not
    // JSON) goes to the core as is, which names what is wrong with it.
    let mut documents = Vec::new();
    let mut stream = serde_json::Deserializer::from_slice(&input).into_iter::<serde::de::IgnoredAny>();
    let mut start = 0;
    let whole_stream = loop {
        match stream.next() {
            None => break true,
            Some(Err(_)) => break false,
            Some(Ok(_)) => {
                documents.push(&input[start..stream.byte_offset()]);
                start = stream.byte_offset();
            }
        }
    };
    let payloads: Vec<&[u8]> = if whole_stream && documents.len() > 1 { documents } else { vec![&input] };
    let mut store = MemoryStore::new();
    let mut out = io::stdout().lock();
    let mut failed = false;
    for &raw in &payloads {
        let report = match source {
            Source::ReamazeReply => reply_report(&settings, raw),
            Source::Provider(provider) => provider_report(provider, &settings, raw, &mut store),
        };
        failed |= report.get("error").is_some();
        write_json(&mut out, &report)?;
    }
    if failed {
        return Err(Failure("some payloads could not be translated (see the error above)".into(), 1));
    }
    Ok(())
}

fn write_json(out: &mut impl Write, value: &Value) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).expect("JSON values serialize");
    writeln!(out, "{text}").map_err(|e| Failure(format!("cannot write: {e}"), 1))
}

fn provider_report(provider: Provider, settings: &Settings, raw: &[u8], store: &mut MemoryStore) -> Value {
    match Preview::of(provider, raw, settings, store, now()) {
        Ok(preview) => serde_json::to_value(preview).expect("a preview serializes"),
        Err(e) => json!({ "provider": provider.name(), "error": error_json(&Error::Payload(e)) }),
    }
}

/// The core's error as `{code, message, field}`.
fn error_json(error: &Error) -> Value {
    json!({ "code": error.code(), "message": error.to_string(), "field": error.field() })
}

fn reply_report(settings: &Settings, raw: &[u8]) -> Value {
    match reply_parts(settings, raw) {
        Ok((endpoint, parts)) => json!({ "endpoint": endpoint, "sms": parts }),
        Err(Error::NotConfigured { setting }) if setting == names::SMS_CHANNEL_NUMBER => json!({ "error": {
            "code": "not_configured", "message": "set SMS_CHANNEL_NUMBER (or --sms-channel-number)" } }),
        Err(e) => json!({ "error": error_json(&e) }),
    }
}

/// The send-SMS endpoint (with a placeholder for an account not given) and
/// the parts a staff reply becomes.
fn reply_parts(settings: &Settings, raw: &[u8]) -> Result<(String, Vec<reamaze_bridge::SmsPart>), Error> {
    let channel =
        settings.sms_channel_number.as_deref().ok_or(Error::NotConfigured { setting: names::SMS_CHANNEL_NUMBER })?;
    let reply: StaffReply = StaffReply::parse(raw, settings.max_json_depth).map_err(Error::ReplyBody)?;
    let parts = reply_to_sms(&reply, channel).map_err(Error::Reply)?;
    let endpoint = SmsApi::endpoint_shown(settings);
    Ok((endpoint, parts))
}
