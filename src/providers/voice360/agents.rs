//! `VOICE360_AGENTS`: who each Voice360 user id is, so messages name the
//! agent and assign the conversation to them. Comma-separated entries
//! `ID=Name <email>`, either part optional: `67890=Jane Smith
//! <jane@acme.example>, 67891=<sam@acme.example>, 67892=Lee`.

use crate::settings::{Parsed, Settings};

use super::AGENTS;

/// The agent with Voice360 user id `id`, if `VOICE360_AGENTS` names them.
pub fn named<'s>(settings: &'s Settings, id: &str) -> Option<&'s Agent> {
    settings.parsed::<Vec<Agent>>(AGENTS)?.iter().find(|agent| agent.id == id)
}

/// The setting's reader (`Kind::Parsed`).
pub fn read(text: &str) -> Option<Parsed> {
    parse(text).map(|agents| Parsed::new(text, agents))
}

/// One agent, by their Voice360 user id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    pub id: String,
    pub name: Option<String>,
    /// The e-mail of their Re:amaze staff account, for `assignee`.
    pub email: Option<String>,
}

/// The agents of `text`, or `None` when an entry cannot be read: no `=`,
/// no id, neither a name nor an e-mail, or an e-mail not in `<…@…>`.
/// (The setting's error says what is expected; the entry is not quoted
/// back, as quoting a string would bring Unicode tables into the wasm.)
pub fn parse(text: &str) -> Option<Vec<Agent>> {
    let mut agents = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
        agents.push(agent(entry)?);
    }
    Some(agents)
}

fn agent(entry: &str) -> Option<Agent> {
    let (id, who) = entry.split_once('=')?;
    let id = Some(id.trim()).filter(|id| !id.is_empty())?;
    let (name, email) = match who.split_once('<') {
        Some((name, rest)) => {
            let email = rest.trim_end().strip_suffix('>')?.trim();
            (name, Some(email).filter(|e| e.contains('@') && !e.contains(' ')).map(Some)?)
        }
        None => (who, None),
    };
    let name = Some(name.trim()).filter(|n| !n.is_empty()).map(String::from);
    if name.is_none() && email.is_none() {
        return None;
    }
    Some(Agent { id: id.to_string(), name, email: email.map(String::from) })
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
            assert!(parse(text).is_none(), "{text}");
        }
        assert_eq!(parse(" , ").unwrap(), []);
    }
}
