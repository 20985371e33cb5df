//! The event log's stored format, version 1 (see the docs of `larkdesk_domain::events`).
//!
//! `fixtures/event_log_v1.jsonl` holds one event of every kind, one per line, exactly as the
//! store writes them. It was generated once from the code that defined v1 (the event payloads
//! were still the wire types then) and is not to be regenerated: when these tests fail, the
//! change broke databases that already exist. Add a variant or a migration instead, and append
//! lines for it.

use std::collections::BTreeSet;

use larkdesk_domain::events::{
    Actor, EventKind, FieldValue, ImportedTicket, Note, PersonRef, Reason, Sender, Tag, TicketEvent,
};
use larkdesk_wire::ticket::{Comments, CustomizedFieldDisplayItem, I18n, Ticket, TicketTag, TicketUser};

const V1: &str = include_str!("fixtures/event_log_v1.jsonl");

fn fixture_lines() -> Vec<&'static str> {
    V1.lines().collect()
}

fn person(id: &str) -> PersonRef {
    PersonRef { id: id.into() }
}

fn guest() -> Actor {
    Actor::Guest("ou_guest".into())
}

fn agent() -> Actor {
    Actor::Agent("ou_agent_a".into())
}

fn ev(at_ms: i64, actor: Actor, kind: EventKind) -> TicketEvent {
    TicketEvent { at_ms, actor, kind }
}

/// An imported snapshot with every optional part present.
fn full_snapshot() -> ImportedTicket {
    ImportedTicket {
        ticket_id: "6981801750270672659".into(),
        helpdesk_id: "6939771743531696147".into(),
        guest: person("ou_guest"),
        comments: Some(Note {
            content: "来自导入".into(),
            created_at: 1_616_920_429_000,
            id: 6_949_088_236_784_189_459,
            user_avatar_url: "https://example.com/a.png".into(),
            user_name: "Mallory".into(),
            user_id: 6_923_449_612_286_541_844,
        }),
        ticket_type: 2,
        status: 51,
        score: 1,
        created_at: 1_616_920_329_000,
        updated_at: 1_616_920_429_000,
        closed_at: 1_616_920_429_000,
        dissatisfaction_reason: Some(Reason {
            zh_cn: "答案看不懂".into(),
            en_us: "I don't understand".into(),
            ja_jp: String::new(),
        }),
        agents: vec![person("ou_agent_a"), person("ou_agent_b")],
        channel: 3,
        solve: 2,
        closed_by: Some(person("ou_agent_a")),
        collaborators: vec![person("ou_helper")],
        customized_fields: vec![FieldValue {
            id: "6949088236610248723".into(),
            value: "{\"id\":\"1\"}".into(),
            key_name: "order".into(),
            display_name: "Order \"no.\"".into(),
            position: 2,
            required: true,
            editable: false,
        }],
        agent_service_duration: 42624.95,
        agent_first_response_duration: 123_869,
        bot_service_duration: 1,
        agent_resolution_time: 66,
        actual_processing_time: 68,
        agent_entry_time: 1_636_444_596_000,
        agent_first_response_time: 1_636_444_696_000,
        agent_last_response_time: 1_636_444_796_000,
        agent_owner: Some(person("ou_agent_b")),
        tags: vec![Tag {
            id: "7".into(),
            name: "vip".into(),
        }],
    }
}

/// An imported snapshot with every optional part absent (omitted from the JSON).
fn bare_snapshot() -> ImportedTicket {
    ImportedTicket {
        ticket_id: "7".into(),
        helpdesk_id: String::new(),
        guest: person("ou_guest"),
        comments: None,
        ticket_type: 1,
        status: 1,
        score: 0,
        created_at: 1_700_000_000_000,
        updated_at: -1,
        closed_at: 0,
        dissatisfaction_reason: None,
        agents: vec![],
        channel: 0,
        solve: 1,
        closed_by: None,
        collaborators: vec![],
        customized_fields: vec![],
        agent_service_duration: 0.0,
        agent_first_response_duration: 0,
        bot_service_duration: 0,
        agent_resolution_time: 0,
        actual_processing_time: 0,
        agent_entry_time: 0,
        agent_first_response_time: 0,
        agent_last_response_time: 0,
        agent_owner: None,
        tags: vec![],
    }
}

/// The events of the fixture, line by line.
fn sample_log() -> Vec<TicketEvent> {
    vec![
        ev(
            1_700_000_000_000,
            guest(),
            EventKind::Created {
                guest_id: "ou_guest".into(),
                channel: 9,
                human_service: false,
            },
        ),
        ev(
            1_616_920_429_000,
            Actor::System,
            EventKind::Imported {
                snapshot: Box::new(full_snapshot()),
            },
        ),
        ev(
            1_700_000_000_000,
            Actor::System,
            EventKind::Imported {
                snapshot: Box::new(bare_snapshot()),
            },
        ),
        ev(1_700_000_001_000, guest(), EventKind::HumanRequested),
        ev(
            1_700_000_002_000,
            Actor::System,
            EventKind::AgentEntered {
                agent_id: "ou_agent_a".into(),
            },
        ),
        ev(
            1_700_000_003_000,
            Actor::System,
            EventKind::AgentLeft {
                agent_id: "ou_agent_b".into(),
            },
        ),
        ev(
            1_700_000_004_000,
            Actor::Bot,
            EventKind::Message {
                sender: Sender::Bot,
                sender_id: String::new(),
                message_id: "om_1".into(),
                msg_type: "text".into(),
                content: "{\"text\":\"hi\"}".into(),
            },
        ),
        ev(
            1_700_000_005_000,
            guest(),
            EventKind::Message {
                sender: Sender::Guest,
                sender_id: "ou_guest".into(),
                message_id: "om_2".into(),
                msg_type: "image".into(),
                content: "{\"image_keys\":[\"img_1\"]}".into(),
            },
        ),
        ev(
            1_700_000_006_000,
            agent(),
            EventKind::Message {
                sender: Sender::Agent,
                sender_id: "ou_agent_a".into(),
                message_id: "om_3".into(),
                msg_type: "text".into(),
                content: "{\"text\":\"<b>ok</b> \\u2028\"}".into(),
            },
        ),
        ev(1_700_000_007_000, agent(), EventKind::StatusChanged { status: 4 }),
        ev(
            1_700_000_008_000,
            agent(),
            EventKind::Closed {
                status: 51,
                by_id: Some("ou_agent_a".into()),
            },
        ),
        ev(
            1_700_000_009_000,
            Actor::Bot,
            EventKind::Closed {
                status: 50,
                by_id: None,
            },
        ),
        ev(1_700_000_010_000, guest(), EventKind::Reopened),
        ev(
            1_700_000_011_000,
            agent(),
            EventKind::Commented {
                comment_id: 6_949_088_236_784_189_459,
                content: "note".into(),
                user_id: 6_923_449_612_286_541_844,
                user_name: "Mallory".into(),
                user_avatar_url: "https://example.com/a.png".into(),
            },
        ),
        ev(
            1_700_000_012_000,
            agent(),
            EventKind::Tagged {
                tags: vec![("1".into(), "vip".into()), ("2".into(), "退款".into())],
            },
        ),
        ev(
            1_700_000_013_000,
            agent(),
            EventKind::CustomizedFieldsSet {
                fields: vec![
                    FieldValue {
                        id: "6949088236610248723".into(),
                        value: "{\"id\":\"1\"}".into(),
                        key_name: "order".into(),
                        display_name: "Order".into(),
                        position: 2,
                        required: true,
                        editable: true,
                    },
                    FieldValue {
                        id: "6949088236610248724".into(),
                        ..Default::default()
                    },
                ],
            },
        ),
        ev(
            1_700_000_014_000,
            agent(),
            EventKind::StageChanged { ticket_type: 2 },
        ),
        ev(1_700_000_015_000, agent(), EventKind::SolvedSet { solve: 2 }),
        ev(
            1_700_000_016_000,
            Actor::System,
            EventKind::ChannelSet { channel: 5 },
        ),
        ev(
            1_700_000_017_000,
            guest(),
            EventKind::Rated {
                score: 1,
                dissatisfaction_reason: Some(Reason {
                    zh_cn: "答案看不懂".into(),
                    en_us: "I don't understand".into(),
                    ja_jp: "わからない".into(),
                }),
            },
        ),
        ev(
            1_700_000_018_000,
            guest(),
            EventKind::Rated {
                score: 3,
                dissatisfaction_reason: None,
            },
        ),
        ev(
            1_700_000_019_000,
            agent(),
            EventKind::CollaboratorAdded {
                user_id: "ou_helper".into(),
            },
        ),
    ]
}

/// The stored tag of a kind. Exhaustive on purpose: a new variant does not compile here until it
/// is listed, and then `the_fixture_covers_every_kind` asks for a fixture line.
fn tag(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::Created { .. } => "created",
        EventKind::Imported { .. } => "imported",
        EventKind::HumanRequested => "human_requested",
        EventKind::AgentEntered { .. } => "agent_entered",
        EventKind::AgentLeft { .. } => "agent_left",
        EventKind::Message { .. } => "message",
        EventKind::StatusChanged { .. } => "status_changed",
        EventKind::Closed { .. } => "closed",
        EventKind::Reopened => "reopened",
        EventKind::Commented { .. } => "commented",
        EventKind::Tagged { .. } => "tagged",
        EventKind::CustomizedFieldsSet { .. } => "customized_fields_set",
        EventKind::StageChanged { .. } => "stage_changed",
        EventKind::SolvedSet { .. } => "solved_set",
        EventKind::ChannelSet { .. } => "channel_set",
        EventKind::Rated { .. } => "rated",
        EventKind::CollaboratorAdded { .. } => "collaborator_added",
    }
}

const ALL_TAGS: [&str; 17] = [
    "created",
    "imported",
    "human_requested",
    "agent_entered",
    "agent_left",
    "message",
    "status_changed",
    "closed",
    "reopened",
    "commented",
    "tagged",
    "customized_fields_set",
    "stage_changed",
    "solved_set",
    "channel_set",
    "rated",
    "collaborator_added",
];

#[test]
fn every_kind_is_written_as_v1() {
    let log = sample_log();
    let lines = fixture_lines();
    assert_eq!(log.len(), lines.len(), "one fixture line per sample event");
    for (i, (event, line)) in log.iter().zip(&lines).enumerate() {
        let written = serde_json::to_string(event).unwrap();
        assert_eq!(written, *line, "line {} ({})", i + 1, tag(&event.kind));
    }
}

#[test]
fn v1_reads_back_to_the_same_events() {
    let read: Vec<TicketEvent> = fixture_lines()
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(read, sample_log());
}

#[test]
fn the_fixture_covers_every_kind() {
    let covered: BTreeSet<&str> = sample_log().iter().map(|e| tag(&e.kind)).collect();
    assert_eq!(covered, BTreeSet::from(ALL_TAGS));
    for line in fixture_lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        let event: TicketEvent = serde_json::from_str(line).unwrap();
        assert_eq!(value["kind"], tag(&event.kind), "{line}");
    }
}

/// What the store writes for an import (`imported_event`): people by id only, whatever profile
/// the ticket came with. The result is the fixture's second line.
#[test]
fn an_import_keeps_people_by_id_and_writes_v1() {
    let named = |id: &str, name: &str| TicketUser {
        id: id.into(),
        name: name.into(),
        avatar_url: format!("https://example.com/{id}.png"),
        email: format!("{id}@example.com"),
        department: "Support".into(),
        city: "Hangzhou".into(),
        country: "CN".into(),
    };
    let ticket = Ticket {
        guest: named("ou_guest", "Nina"),
        agents: vec![named("ou_agent_a", "Mallory"), named("ou_agent_b", "Bob")],
        closed_by: Some(named("ou_agent_a", "Mallory")),
        collaborators: vec![named("ou_helper", "Hal")],
        agent_owner: Some(named("ou_agent_b", "Bob")),
        ..full_snapshot().to_ticket()
    };
    let snapshot = ImportedTicket::from(&ticket);
    assert_eq!(snapshot, full_snapshot());
    let event = ev(
        1_616_920_429_000,
        Actor::System,
        EventKind::Imported {
            snapshot: Box::new(snapshot),
        },
    );
    assert_eq!(serde_json::to_string(&event).unwrap(), fixture_lines()[1]);
}

#[test]
fn snapshots_convert_to_wire_tickets_and_back() {
    for snapshot in [full_snapshot(), bare_snapshot()] {
        let ticket = snapshot.to_ticket();
        assert_eq!(ImportedTicket::from(&ticket), snapshot);
    }
    let t = full_snapshot().to_ticket();
    let id_only = |id: &str| TicketUser {
        id: id.into(),
        ..Default::default()
    };
    assert_eq!(t.guest, id_only("ou_guest"));
    assert_eq!(t.agents, [id_only("ou_agent_a"), id_only("ou_agent_b")]);
    assert_eq!(t.closed_by, Some(id_only("ou_agent_a")));
    assert_eq!(t.collaborators, [id_only("ou_helper")]);
    assert_eq!(t.agent_owner, Some(id_only("ou_agent_b")));
    assert_eq!(
        t.comments,
        Some(Comments {
            content: "来自导入".into(),
            created_at: 1_616_920_429_000,
            id: 6_949_088_236_784_189_459,
            user_avatar_url: "https://example.com/a.png".into(),
            user_name: "Mallory".into(),
            user_id: 6_923_449_612_286_541_844,
        })
    );
    assert_eq!(
        t.tags,
        [TicketTag {
            id: "7".into(),
            name: "vip".into()
        }]
    );
    assert_eq!(
        (t.updated_at, t.agent_service_duration, t.channel, t.solve),
        (1_616_920_429_000, 42624.95, 3, 2)
    );
}

#[test]
fn reasons_and_field_values_convert_both_ways() {
    let wire = I18n {
        zh_cn: "a".into(),
        en_us: "b".into(),
        ja_jp: "c".into(),
    };
    let reason = Reason::from(wire.clone());
    assert_eq!(
        (
            reason.zh_cn.as_str(),
            reason.en_us.as_str(),
            reason.ja_jp.as_str()
        ),
        ("a", "b", "c")
    );
    assert_eq!(I18n::from(reason), wire);

    let wire = CustomizedFieldDisplayItem {
        id: "1".into(),
        value: "v".into(),
        key_name: "k".into(),
        display_name: "d".into(),
        position: 4,
        required: true,
        editable: true,
    };
    let field = FieldValue::from(wire.clone());
    assert_eq!(
        field,
        FieldValue {
            id: "1".into(),
            value: "v".into(),
            key_name: "k".into(),
            display_name: "d".into(),
            position: 4,
            required: true,
            editable: true,
        }
    );
    assert_eq!(CustomizedFieldDisplayItem::from(field), wire);
}

/// v1 readers filled absent fields with defaults (`updated_at` -1, the rest 0/empty) and took a
/// person's id only; the payload types keep reading such rows the same way.
#[test]
fn v1_defaults_still_read() {
    let line = r#"{"at_ms":5,"actor":{"type":"system"},"kind":"imported","snapshot":{"guest":{"id":"ou_g","name":"Nina","city":"Hangzhou"},"agents":[{}],"ticket_type":1,"status":1,"created_at":5,"customized_fields":[{"id":"9"}],"dissatisfaction_reason":{"en_us":"x"}}}"#;
    let event: TicketEvent = serde_json::from_str(line).unwrap();
    let EventKind::Imported { snapshot } = event.kind else {
        panic!("not an import: {event:?}");
    };
    assert_eq!(
        *snapshot,
        ImportedTicket {
            ticket_id: String::new(),
            helpdesk_id: String::new(),
            guest: person("ou_g"),
            agents: vec![person("")],
            created_at: 5,
            solve: 0,
            customized_fields: vec![FieldValue {
                id: "9".into(),
                ..Default::default()
            }],
            dissatisfaction_reason: Some(Reason {
                en_us: "x".into(),
                ..Default::default()
            }),
            ..bare_snapshot()
        }
    );
    let missing_reason = r#"{"at_ms":5,"actor":{"type":"guest","id":"ou_g"},"kind":"rated","score":2}"#;
    let event: TicketEvent = serde_json::from_str(missing_reason).unwrap();
    assert_eq!(
        event.kind,
        EventKind::Rated {
            score: 2,
            dissatisfaction_reason: None
        }
    );
}
