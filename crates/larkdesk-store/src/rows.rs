//! Rows to values, written once against [`Columns`]: every backend selects the columns under
//! these names.

use std::collections::HashMap;

use larkdesk_domain::credentials::SecretHash;
use larkdesk_domain::ids::{AppRowId, HelpdeskRowId, TenantRowId, TicketId, UserRowId};
use larkdesk_domain::log::LogMessage;
use larkdesk_wire::fields::TicketCustomizedField;
use larkdesk_wire::ticket::{Ticket, TicketMessage, TicketUser};

use crate::backend::Columns;
use crate::{
    App, AppType, Delivery, DeliveryRecord, Helpdesk, StoreError, StoreResult, StoredMessage, Tenant,
    UserRecord, WireProfile,
};

pub(crate) fn json_column<T: serde::de::DeserializeOwned>(raw: &str, col: &str) -> StoreResult<T> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("wire types always serialize")
}

fn hash_column(row: &impl Columns, col: &str) -> StoreResult<SecretHash> {
    let bytes = row.bytes(col)?;
    SecretHash::from_slice(&bytes).ok_or_else(|| StoreError::Corrupt(format!("{col} is not a digest")))
}

pub(crate) fn tenant(row: &impl Columns) -> StoreResult<Tenant> {
    Ok(Tenant {
        id: TenantRowId(row.int("id")?),
        tenant_key: row.text("tenant_key")?,
        name: row.text("name")?,
    })
}

pub(crate) fn app(row: &impl Columns) -> StoreResult<App> {
    let app_type = row.text("app_type")?;
    Ok(App {
        id: AppRowId(row.int("id")?),
        app_id: row.text("app_id")?,
        tenant_id: TenantRowId(row.int("tenant_id")?),
        name: row.text("name")?,
        app_type: AppType::parse(&app_type)
            .ok_or_else(|| StoreError::Corrupt(format!("app_type {app_type}")))?,
        scopes: json_column(&row.text("scopes")?, "scopes")?,
        secret_hash: hash_column(row, "secret_hash")?,
        wire_profile: {
            let profile = row.text("wire_profile")?;
            WireProfile::parse(&profile)
                .ok_or_else(|| StoreError::Corrupt(format!("wire_profile {profile}")))?
        },
    })
}

pub(crate) fn helpdesk(row: &impl Columns) -> StoreResult<Helpdesk> {
    Ok(Helpdesk {
        id: HelpdeskRowId(row.int("id")?),
        helpdesk_id: row.text("helpdesk_id")?,
        tenant_id: TenantRowId(row.int("tenant_id")?),
        name: row.text("name")?,
        token_hash: hash_column(row, "token_hash")?,
    })
}

/// A directory profile's columns, in the order [`person`] reads them.
pub(crate) const USER_COLUMNS: &str = "open_id, name, avatar_url, email, department, city, country, is_agent";

pub(crate) fn user_record(row: &impl Columns) -> StoreResult<UserRecord> {
    let (user, is_agent) = person(row)?;
    Ok(UserRecord {
        id: UserRowId(row.int("id")?),
        tenant_id: TenantRowId(row.int("tenant_id")?),
        user,
        is_agent,
    })
}

/// A directory profile and whether it is an agent's.
pub(crate) fn person(row: &impl Columns) -> StoreResult<(TicketUser, bool)> {
    Ok((
        TicketUser {
            id: row.text("open_id")?,
            name: row.text("name")?,
            avatar_url: row.text("avatar_url")?,
            email: row.text("email")?,
            department: row.text("department")?,
            city: row.text("city")?,
            country: row.text("country")?,
        },
        row.flag("is_agent")?,
    ))
}

fn id_only(id: &str) -> TicketUser {
    TicketUser {
        id: id.to_owned(),
        ..Default::default()
    }
}

/// The JSON list of the ids of `users`, as the id-list columns hold them.
pub(crate) fn ids_json(users: &[TicketUser]) -> String {
    to_json(&users.iter().map(|u| &u.id).collect::<Vec<_>>())
}

/// A ticket row as a `Ticket` whose people carry only their ids.
pub(crate) fn projection(row: &impl Columns, helpdesk_public_id: &str) -> StoreResult<Ticket> {
    let ids = |col: &str| -> StoreResult<Vec<TicketUser>> {
        let ids: Vec<String> = json_column(&row.text(col)?, col)?;
        Ok(ids.iter().map(|id| id_only(id)).collect())
    };
    Ok(Ticket {
        ticket_id: row.int("ticket_id")?.to_string(),
        helpdesk_id: helpdesk_public_id.to_owned(),
        guest: id_only(&row.text("guest_id")?),
        comments: row
            .opt_text("comments")?
            .map(|s| json_column(&s, "comments"))
            .transpose()?,
        ticket_type: row.int("ticket_type")?,
        status: row.int("status")?,
        score: row.int("score")?,
        created_at: row.int("created_at")?,
        updated_at: row.opt_int("updated_at")?.unwrap_or(-1),
        closed_at: row.int("closed_at")?,
        dissatisfaction_reason: row
            .opt_text("dissatisfaction_reason")?
            .map(|s| json_column(&s, "dissatisfaction_reason"))
            .transpose()?,
        agents: ids("agent_ids")?,
        channel: row.int("channel")?,
        solve: row.int("solve")?,
        closed_by: row.opt_text("closed_by_id")?.map(|id| id_only(&id)),
        collaborators: ids("collaborator_ids")?,
        customized_fields: json_column(&row.text("customized_fields")?, "customized_fields")?,
        agent_service_duration: row.float("agent_service_duration")?,
        agent_first_response_duration: row.int("agent_first_response_duration")?,
        bot_service_duration: row.int("bot_service_duration")?,
        agent_resolution_time: row.int("agent_resolution_time")?,
        actual_processing_time: row.int("actual_processing_time")?,
        agent_entry_time: row.int("agent_entry_time")?,
        agent_first_response_time: row.int("agent_first_response_time")?,
        agent_last_response_time: row.int("agent_last_response_time")?,
        agent_owner: row.opt_text("agent_owner_id")?.map(|id| id_only(&id)),
        tags: json_column(&row.text("tags")?, "tags")?,
    })
}

/// The projected columns of a ticket row, in the order [`projection_values`] gives them, with
/// `updated_hour` (stored for the update-time index, not read back: see [`UPDATE_HOUR_MS`]).
pub(crate) const PROJECTION_COLUMNS: &str = "guest_id, comments, ticket_type, status, score, created_at,
    updated_at, updated_hour, closed_at, dissatisfaction_reason, agent_ids, channel, solve, closed_by_id,
    collaborator_ids, customized_fields, agent_service_duration, agent_first_response_duration,
    bot_service_duration, agent_resolution_time, actual_processing_time, agent_entry_time,
    agent_first_response_time, agent_last_response_time, agent_owner_id, tags";

/// A projected column's value, and whether it is a JSON list column.
pub(crate) type ProjectionValue<'t> = (crate::backend::Arg<'t>, bool);

/// A ticket's `updated_hour` is its `updated_at` (ms) divided by this, rounded down: the key of
/// the index lists filtered by update time read (migration 0016). A change stores the columns
/// whose values differ from the row's (`write_projection`), so a ticket changed again within
/// the hour leaves that index alone; on `updated_at` itself, every message post moved the
/// ticket's entry, a random page of the index written each time.
pub(crate) const UPDATE_HOUR_MS: i64 = 3_600_000;

/// The hour of an update time in ms ([`UPDATE_HOUR_MS`]): the one a time in that range has.
pub(crate) fn update_hour(updated_at_ms: i64) -> i64 {
    updated_at_ms.div_euclid(UPDATE_HOUR_MS)
}

/// The values of [`PROJECTION_COLUMNS`] for a ticket.
pub(crate) fn projection_values(t: &Ticket) -> [ProjectionValue<'_>; 26] {
    use crate::backend::Arg;
    let person = |u: &Option<TicketUser>| Arg::OptOwned(u.as_ref().map(|u| u.id.clone()));
    // -1: never updated, stored as NULL.
    let updated_at = (t.updated_at >= 0).then_some(t.updated_at);
    [
        (Arg::Text(&t.guest.id), false),
        (Arg::OptOwned(t.comments.as_ref().map(to_json)), false),
        (Arg::Int(t.ticket_type), false),
        (Arg::Int(t.status), false),
        (Arg::Int(t.score), false),
        (Arg::Int(t.created_at), false),
        (Arg::OptInt(updated_at), false),
        (Arg::OptInt(updated_at.map(update_hour)), false),
        (Arg::Int(t.closed_at), false),
        (
            Arg::OptOwned(t.dissatisfaction_reason.as_ref().map(to_json)),
            false,
        ),
        (Arg::Owned(ids_json(&t.agents)), true),
        (Arg::Int(t.channel), false),
        (Arg::Int(t.solve), false),
        (person(&t.closed_by), false),
        (Arg::Owned(ids_json(&t.collaborators)), true),
        (Arg::Owned(to_json(&t.customized_fields)), false),
        (Arg::Float(t.agent_service_duration), false),
        (Arg::Int(t.agent_first_response_duration), false),
        (Arg::Int(t.bot_service_duration), false),
        (Arg::Int(t.agent_resolution_time), false),
        (Arg::Int(t.actual_processing_time), false),
        (Arg::Int(t.agent_entry_time), false),
        (Arg::Int(t.agent_first_response_time), false),
        (Arg::Int(t.agent_last_response_time), false),
        (person(&t.agent_owner), false),
        (Arg::Owned(to_json(&t.tags)), true),
    ]
}

/// The open_ids of everyone `tickets` name, sorted and without repeats.
pub fn people_named(tickets: &[Ticket]) -> Vec<String> {
    let mut wanted: Vec<&str> = Vec::new();
    for t in tickets {
        wanted.push(&t.guest.id);
        for u in t
            .agents
            .iter()
            .chain(&t.collaborators)
            .chain(&t.closed_by)
            .chain(&t.agent_owner)
        {
            wanted.push(&u.id);
        }
    }
    wanted.sort_unstable();
    wanted.dedup();
    wanted.into_iter().map(str::to_owned).collect()
}

/// A ticket from the rows of a ticket-with-people query: the ticket's columns, repeated on each
/// row, and on each the profile of one person it names (NULL where the directory has none).
/// No rows: no such ticket.
pub(crate) fn ticket_with_people<R: Columns>(rows: &[R], helpdesk_id: &str) -> StoreResult<Ticket> {
    let first = rows.first().ok_or(StoreError::NotFound)?;
    let mut ticket = projection(first, helpdesk_id)?;
    fill_people(&profiles(rows)?, std::slice::from_mut(&mut ticket));
    Ok(ticket)
}

/// Directory profiles by open_id from rows holding [`USER_COLUMNS`]; a row whose `open_id` is
/// NULL (a LEFT JOIN that found nobody) holds none.
pub(crate) fn profiles<R: Columns>(rows: &[R]) -> StoreResult<HashMap<String, TicketUser>> {
    let mut people = HashMap::with_capacity(rows.len());
    for row in rows {
        if row.opt_text("open_id")?.is_some() {
            let (user, _) = person(row)?;
            people.insert(user.id.clone(), user);
        }
    }
    Ok(people)
}

/// Replace every person `tickets` name by their directory profile. A person missing from the
/// directory still shows with their id.
pub fn fill_people(people: &HashMap<String, TicketUser>, tickets: &mut [Ticket]) {
    let fill = |u: &mut TicketUser| {
        if let Some(p) = people.get(&u.id) {
            *u = p.clone();
        }
    };
    for t in tickets.iter_mut() {
        fill(&mut t.guest);
        t.agents
            .iter_mut()
            .chain(&mut t.collaborators)
            .chain(&mut t.closed_by)
            .chain(&mut t.agent_owner)
            .for_each(fill);
    }
}

pub(crate) fn stored_message(row: &impl Columns) -> StoreResult<StoredMessage> {
    Ok(StoredMessage {
        ticket_id: TicketId::new(row.int("ticket_id")?),
        message: LogMessage {
            message_id: row.text("message_id")?,
            event_id: row.text("event_id")?,
            msg_type: row.text("msg_type")?,
            content: row.text("content")?,
            sender_type: row.int("sender_type")?,
            sender_id: row.text("sender_id")?,
            created_at: row.int("created_at")?,
            position: row.int("position")?,
            seq: row.int("seq")?,
        },
    })
}

/// A row of the `list_messages` query.
pub(crate) fn ticket_message(row: &impl Columns) -> StoreResult<TicketMessage> {
    let message_id = row.text("message_id")?;
    Ok(TicketMessage {
        // The same id the ticket_message.created event carries as `ticket_message_id`.
        id: larkdesk_domain::ids::stable_numeric_id(&message_id).to_string(),
        message_id,
        message_type: row.text("msg_type")?,
        created_at: row.int("created_at")?,
        content: row.text("content")?,
        user_name: row.text("user_name")?,
        avatar_url: row.text("avatar_url")?,
        user_id: row.text("sender_id")?,
    })
}

pub(crate) fn field(row: &impl Columns, helpdesk_id: &str) -> StoreResult<TicketCustomizedField> {
    let options = row.opt_text("dropdown_options")?;
    Ok(TicketCustomizedField {
        ticket_customized_field_id: row.text("field_id")?,
        helpdesk_id: helpdesk_id.to_owned(),
        key_name: row.text("key_name")?,
        display_name: row.text("display_name")?,
        position: row.text("position")?,
        field_type: row.text("field_type")?,
        description: row.text("description")?,
        visible: row.flag("visible")?,
        editable: row.flag("editable")?,
        required: row.flag("required")?,
        created_at: row.int("created_at")?.to_string(),
        updated_at: row.int("updated_at")?.to_string(),
        created_by: id_only(&row.text("created_by")?),
        updated_by: id_only(&row.text("updated_by")?),
        dropdown_allow_multiple: row.flag("dropdown_allow_multiple")?,
        dropdown_options: options.map(|o| json_column(&o, "dropdown_options")).transpose()?,
    })
}

pub(crate) fn delivery_record(row: &impl Columns) -> StoreResult<DeliveryRecord> {
    Ok(DeliveryRecord {
        event_id: row.text("event_id")?,
        app_id: row.text("public_app_id")?,
        event_type: row.text("event_type")?,
        status: row.text("status")?,
        attempts: row.int("attempts")?,
        created_at: row.int("created_at")?,
        next_attempt_at: row.int("next_attempt_at")?,
        delivered_at: row.int("delivered_at")?,
        last_error: row.text("last_error")?,
    })
}

pub(crate) fn delivery(row: &impl Columns) -> StoreResult<Delivery> {
    Ok(Delivery {
        id: row.int("id")?,
        event_id: row.text("event_id")?,
        app: AppRowId(row.int("app_id")?),
        event_type: row.text("event_type")?,
        body: row.text("body")?,
        attempts: row.int("attempts")?,
    })
}
