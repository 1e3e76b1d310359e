//! `VOICE360_AGENTS`: who each Voice360 user id is, so messages name the
//! agent and assign the conversation to them. Comma-separated entries
//! `ID=Name <email>`, either part optional: `67890=Jane Smith
//! <jane@acme.example>, 67891=<sam@acme.example>, 67892=Lee`.

/// One agent, by their Voice360 user id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    pub id: String,
    pub name: Option<String>,
    /// The e-mail of their Re:amaze staff account, for `assignee`.
    pub email: Option<String>,
}

/// The agents of `text`; `Err` with what is wrong with the first entry
/// that cannot be read.
pub fn parse(text: &str) -> Result<Vec<Agent>, String> {
    text.split(',').map(str::trim).filter(|entry| !entry.is_empty()).map(agent).collect()
}

fn agent(entry: &str) -> Result<Agent, String> {
    let (id, who) = entry.split_once('=').ok_or_else(|| format!("{entry:?} has no '='"))?;
    let id = id.trim();
    if id.is_empty() {
        return Err(format!("{entry:?} has no user id before '='"));
    }
    let (name, email) = match who.split_once('<') {
        Some((name, rest)) => {
            let email = rest.strip_suffix('>').or_else(|| rest.trim_end().strip_suffix('>'));
            let email = email.map(str::trim).filter(|e| e.contains('@') && !e.contains(char::is_whitespace));
            (name, Some(email.ok_or_else(|| format!("{entry:?}: expected <email@domain> after the name"))?))
        }
        None => (who, None),
    };
    let name = Some(name.trim()).filter(|n| !n.is_empty()).map(String::from);
    if name.is_none() && email.is_none() {
        return Err(format!("{entry:?} names neither a name nor an e-mail"));
    }
    Ok(Agent { id: id.to_string(), name, email: email.map(String::from) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_part_may_be_left_out() {
        let agents = parse("67890=Jane Smith <jane@acme.example>, 67891=<sam@acme.example>,67892=Lee").unwrap();
        let agent = |id: &str, name: Option<&str>, email: Option<&str>| Agent {
            id: id.into(),
            name: name.map(Into::into),
            email: email.map(Into::into),
        };
        assert_eq!(
            agents,
            [
                agent("67890", Some("Jane Smith"), Some("jane@acme.example")),
                agent("67891", None, Some("sam@acme.example")),
                agent("67892", Some("Lee"), None),
            ]
        );
    }

    #[test]
    fn unreadable_entries_are_refused() {
        for text in ["67890", "=Jane", "67890=", "67890=Jane <jane>", "67890=Jane <jane@acme.example"] {
            assert!(parse(text).is_err(), "{text}");
        }
        assert_eq!(parse(" , ").unwrap(), []);
    }
}
