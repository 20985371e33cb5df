//! The ticket lifecycle: which events are allowed when, how each one changes the ticket, and the
//! derived durations (`agent_*`, `bot_service_duration`, `actual_processing_time`).
//!
//! A ticket is the projection of its event log: [`project`] starts from [`empty_ticket`], folds
//! [`apply`] over the log, then writes [`metrics`] into it. Everything here is pure.
//!
//! # Transition rules ([`apply`])
//!
//! An invalid event returns an error and leaves the ticket untouched.
//!
//! - A ticket that is not created yet (status 0, as [`empty_ticket`] makes it) accepts only
//!   `Created` or `Imported` (else [`LifecycleError::NotCreated`]); afterwards neither is allowed
//!   ([`LifecycleError::AlreadyCreated`]).
//! - `Created`: guest, channel (≥ 0), `created_at` = event time, `updated_at` -1 ("never updated"),
//!   `closed_at` 0, `solve` 1 (unsolved), `score` 0, no agents. `human_service` starts in the
//!   human stage, queued (type 2, status 3); otherwise bot stage, created (type 1, status 1).
//! - `Imported`: the ticket becomes the snapshot (its people carry only their ids), keeping the
//!   given ids where the snapshot's are empty. Its status and stage must be known codes.
//! - Every later event sets `updated_at` to its time, and must not be earlier than
//!   max(`created_at`, `updated_at`) ([`LifecycleError::OutOfOrder`]).
//! - `Message`: not on a closed ticket. Status 1 becomes 2. An agent's message must come from one
//!   of the ticket's `agents`.
//! - `HumanRequested`: open tickets in the bot stage only; becomes type 2, status 3 (queued).
//! - `AgentEntered`: open tickets only; type 2; status 1 or 3 becomes 2 (4 and 5 stay); the agent
//!   joins `agents` (once) and becomes `agent_owner`.
//! - `AgentLeft`: the agent must be in `agents`; `agent_owner` becomes the last remaining agent
//!   (or none). An open ticket left without agents is queued again (status 3).
//! - `StatusChanged`: 1..=5 only (closing goes through `Closed`), not on a closed ticket.
//! - `Closed`: 50, 51 or 52, not on a closed ticket; sets `closed_at` and `closed_by`.
//! - `Reopened`: closed tickets only; status 2 with agents, else 1 (bot stage) or 3 (queued);
//!   clears `closed_at` and `closed_by`.
//! - `Commented` replaces the note; `Tagged` adds tags whose name is new; `CustomizedFieldsSet`
//!   replaces fields by id or appends them; `CollaboratorAdded` adds a collaborator once.
//! - `StageChanged` 1|2, `SolvedSet` 1|2, `ChannelSet` ≥ 0, `Rated` score 1..=3 (a `None` reason
//!   clears the old one). These are allowed on closed tickets too.
//!
//! # Derived durations ([`metrics`])
//!
//! Only for logs that start with `Created`; an `Imported` ticket keeps its snapshot's values.
//! Events the lifecycle rejects are ignored. "Entry" is the first `AgentEntered` ever (a
//! reassignment or a reopen does not reset it); without an entry every duration is 0.
//!
//! - `agent_entry_time` (ms): entry.
//! - `bot_service_duration` (s): entry − `created_at`.
//! - `agent_first_response_time` (ms): first agent message at or after entry, else 0;
//!   `agent_first_response_duration` (s): that − entry, else 0.
//! - `agent_last_response_time` (ms): last agent message, else 0; `agent_service_duration`
//!   (minutes, float): that − entry, rounded half away from zero to 2 decimals, else 0.0.
//! - `agent_resolution_time` (s): `closed_at` of the final close − entry, only when the ticket is
//!   closed at the end of the log (else 0). After a reopen this spans every cycle.
//! - `actual_processing_time` (s): the resolution time minus the time inside [entry, final close]
//!   the ticket was pending (status 4; a pending span open at close ends there) or closed before
//!   a `Reopened`. Status 5 (waiting for user) and queueing do not pause the clock. Floor 0.
//!
//! Seconds are whole seconds, truncated: differences are taken in ms, pauses subtracted in ms,
//! and only then divided by 1000 (1 999 ms is 1 s).

use larkdesk_wire::ticket::{Comments, CustomizedFieldDisplayItem, I18n, Ticket, TicketTag, TicketUser};

use serde::{Deserialize, Serialize};

use crate::events::{EventKind, FieldValue, ImportedTicket, Reason, Sender, TicketEvent};
use crate::status::{TicketStage, TicketStatus};

/// Durations derived from the event log; see the module docs for each definition.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Metrics {
    /// Minutes, 2 decimals.
    pub agent_service_duration: f64,
    /// Seconds.
    pub agent_first_response_duration: i64,
    /// Seconds.
    pub bot_service_duration: i64,
    /// Seconds.
    pub agent_resolution_time: i64,
    /// Seconds.
    pub actual_processing_time: i64,
    /// Milliseconds.
    pub agent_entry_time: i64,
    /// Milliseconds.
    pub agent_first_response_time: i64,
    /// Milliseconds.
    pub agent_last_response_time: i64,
}

/// Why an event cannot be applied to a ticket. Messages are meant for API users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("the ticket has not been created")]
    NotCreated,
    #[error("the ticket already exists")]
    AlreadyCreated,
    #[error("event time {at_ms} is earlier than the ticket's last change at {last_ms}")]
    OutOfOrder { at_ms: i64, last_ms: i64 },
    #[error("the ticket is closed (reopen it first)")]
    Closed,
    #[error("the ticket is not closed")]
    NotClosed,
    #[error("{agent_id} is not an agent of this ticket")]
    NotAnAgentOfTicket { agent_id: String },
    #[error("the ticket is not in the bot stage")]
    NotInBotStage,
    #[error("invalid status {0}: open statuses are 1 to 5, a close uses 50, 51 or 52")]
    InvalidStatus(i64),
    #[error("invalid ticket_type {0}: must be 1 (bot) or 2 (human)")]
    InvalidStage(i64),
    #[error("invalid solve {0}: must be 1 (unsolved) or 2 (solved)")]
    InvalidSolve(i64),
    #[error("invalid score {0}: must be 1, 2 or 3")]
    InvalidScore(i64),
    #[error("invalid channel {0}: must not be negative")]
    InvalidChannel(i64),
}

type Result<T> = std::result::Result<T, LifecycleError>;

/// The not-yet-created ticket a log is folded onto.
pub fn empty_ticket(ticket_id: &str, helpdesk_id: &str) -> Ticket {
    Ticket {
        ticket_id: ticket_id.to_owned(),
        helpdesk_id: helpdesk_id.to_owned(),
        guest: TicketUser::default(),
        comments: None,
        ticket_type: 0,
        status: 0,
        score: 0,
        created_at: 0,
        updated_at: -1,
        closed_at: 0,
        dissatisfaction_reason: None,
        agents: Vec::new(),
        channel: 0,
        solve: 0,
        closed_by: None,
        collaborators: Vec::new(),
        customized_fields: Vec::new(),
        agent_service_duration: 0.0,
        agent_first_response_duration: 0,
        bot_service_duration: 0,
        agent_resolution_time: 0,
        actual_processing_time: 0,
        agent_entry_time: 0,
        agent_first_response_time: 0,
        agent_last_response_time: 0,
        agent_owner: None,
        tags: Vec::new(),
    }
}

/// Apply one event to a ticket. On error the ticket is unchanged. Metric fields are not touched
/// (see [`metrics`]).
pub fn apply(ticket: &mut Ticket, event: &TicketEvent) -> Result<()> {
    let at = event.at_ms;
    if !is_created(ticket) {
        return match &event.kind {
            EventKind::Created {
                guest_id,
                channel,
                human_service,
            } => create(ticket, at, guest_id, *channel, *human_service),
            EventKind::Imported { snapshot } => import(ticket, snapshot),
            _ => Err(LifecycleError::NotCreated),
        };
    }
    if matches!(event.kind, EventKind::Created { .. } | EventKind::Imported { .. }) {
        return Err(LifecycleError::AlreadyCreated);
    }
    let last_ms = ticket.created_at.max(ticket.updated_at);
    if at < last_ms {
        return Err(LifecycleError::OutOfOrder { at_ms: at, last_ms });
    }
    transition(ticket, event)?;
    ticket.updated_at = at;
    Ok(())
}

/// Derived durations of a log that starts with `Created`; `None` otherwise (an imported ticket
/// keeps its snapshot's values). Events the lifecycle rejects are skipped.
pub fn metrics(events: &[TicketEvent]) -> Option<Metrics> {
    if !matches!(events.first().map(|e| &e.kind), Some(EventKind::Created { .. })) {
        return None;
    }
    let mut replay = Replay::new("", "");
    for event in events {
        // A rejected event changed nothing, so skipping it is the same as it never happening.
        let _ = replay.step(event);
    }
    replay.metrics()
}

/// The ticket a log describes: every event applied in order, then the metrics written in.
/// Fails with the error of the first invalid event.
pub fn project(ticket_id: &str, helpdesk_id: &str, events: &[TicketEvent]) -> Result<Ticket> {
    Ok(replay(ticket_id, helpdesk_id, events)?.finish().0)
}

/// [`project`], keeping the replay to resume it.
pub fn replay(ticket_id: &str, helpdesk_id: &str, events: &[TicketEvent]) -> Result<Replay> {
    let mut replay = Replay::new(ticket_id, helpdesk_id);
    for event in events {
        replay.step(event)?;
    }
    Ok(replay)
}

/// Folds a log onto a ticket while a [`Clock`] watches the accepted events, so that `project`
/// and `metrics` share one pass and one interpretation.
///
/// A replay can stop and resume: what it needs besides the ticket is its [`ReplayState`]
/// (persisted beside the projection), so a change applies only its new events to the stored
/// ticket ([`Replay::resume`]) instead of folding the whole log again. Resuming is the same as
/// never having stopped (a property test below checks it).
#[derive(Debug, Clone)]
pub struct Replay {
    ticket: Ticket,
    /// Present once a `Created` event has been accepted.
    clock: Option<Clock>,
}

/// What a replay knows besides the ticket: the time facts the derived durations need. `None`
/// for imported tickets (their durations are taken as given) and before creation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplayState {
    clock: Option<Clock>,
}

impl Replay {
    pub fn new(ticket_id: &str, helpdesk_id: &str) -> Self {
        Self {
            ticket: empty_ticket(ticket_id, helpdesk_id),
            clock: None,
        }
    }

    /// Continue a replay from a ticket it produced (durations included) and its state.
    pub fn resume(ticket: Ticket, state: ReplayState) -> Self {
        Self {
            ticket,
            clock: state.clock,
        }
    }

    /// Apply one event; on error nothing changes.
    pub fn step(&mut self, event: &TicketEvent) -> Result<()> {
        apply(&mut self.ticket, event)?;
        match (&event.kind, &mut self.clock) {
            (EventKind::Created { .. }, _) => self.clock = Some(Clock::new(&self.ticket)),
            (_, Some(clock)) => clock.observe(&self.ticket, event),
            (_, None) => {}
        }
        Ok(())
    }

    fn metrics(&self) -> Option<Metrics> {
        self.clock.as_ref().map(|clock| clock.metrics(&self.ticket))
    }

    /// The spans (ms) the clock stood still for so far — pending, or closed before a reopen —
    /// as `actual_processing_time` leaves them out (before clipping to the agent's entry); a
    /// pending span still open ends at `now_ms`. Empty for imported tickets, which have no clock.
    pub fn paused_spans(&self, now_ms: i64) -> Vec<(i64, i64)> {
        let Some(clock) = &self.clock else {
            return Vec::new();
        };
        let mut spans = clock.pauses.clone();
        if clock.phase == Phase::Pending {
            spans.push((clock.phase_since, now_ms.max(clock.phase_since)));
        }
        spans
    }

    /// The ticket so far, with its derived durations, and the state to resume from.
    pub fn finish(self) -> (Ticket, ReplayState) {
        let metrics = self.metrics();
        let mut ticket = self.ticket;
        if let Some(m) = metrics {
            write_metrics(&mut ticket, &m);
        }
        (ticket, ReplayState { clock: self.clock })
    }
}

/// Whether the resolution clock is running; only changes between these matter for pauses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Phase {
    Running,
    Pending,
    Closed,
}

fn phase(status: i64) -> Phase {
    match TicketStatus::from_code(status) {
        Some(TicketStatus::Pending) => Phase::Pending,
        Some(s) if s.is_closed() => Phase::Closed,
        _ => Phase::Running,
    }
}

/// The time facts the metrics need, collected from accepted events. Persisted (as JSON, inside
/// [`ReplayState`]): a field added later needs a default that old states can take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Clock {
    created_at: i64,
    entry: Option<i64>,
    first_response: Option<i64>,
    last_response: Option<i64>,
    phase: Phase,
    phase_since: i64,
    /// Finished pending spans and closed-then-reopened gaps, in ms.
    pauses: Vec<(i64, i64)>,
}

impl Clock {
    fn new(created: &Ticket) -> Self {
        Self {
            created_at: created.created_at,
            entry: None,
            first_response: None,
            last_response: None,
            phase: phase(created.status),
            phase_since: created.created_at,
            pauses: Vec::new(),
        }
    }

    /// Record an accepted event; `ticket` is the state after it.
    fn observe(&mut self, ticket: &Ticket, event: &TicketEvent) {
        let at = event.at_ms;
        match &event.kind {
            EventKind::AgentEntered { .. } => {
                self.entry.get_or_insert(at);
            }
            EventKind::Message {
                sender: Sender::Agent,
                ..
            } if self.entry.is_some_and(|e| at >= e) => {
                self.first_response.get_or_insert(at);
                self.last_response = Some(at);
            }
            _ => {}
        }
        let now = phase(ticket.status);
        if now != self.phase {
            // The final close never ends, so its span is never counted as a pause.
            if self.phase != Phase::Running {
                self.pauses.push((self.phase_since, at));
            }
            self.phase = now;
            self.phase_since = at;
        }
    }

    fn metrics(&self, ticket: &Ticket) -> Metrics {
        let Some(entry) = self.entry else {
            return Metrics::default();
        };
        let final_close = (phase(ticket.status) == Phase::Closed).then_some(ticket.closed_at);
        let resolution_ms = final_close.map_or(0, |close| close - entry);
        let paused_ms = final_close.map_or(0, |close| self.paused_between(entry, close));
        Metrics {
            agent_service_duration: self.last_response.map_or(0.0, |last| minutes_2dp(last - entry)),
            agent_first_response_duration: self.first_response.map_or(0, |first| (first - entry) / 1000),
            bot_service_duration: (entry - self.created_at) / 1000,
            agent_resolution_time: resolution_ms / 1000,
            actual_processing_time: (resolution_ms - paused_ms).max(0) / 1000,
            agent_entry_time: entry,
            agent_first_response_time: self.first_response.unwrap_or(0),
            agent_last_response_time: self.last_response.unwrap_or(0),
        }
    }

    /// Total paused ms, each pause clipped to [from, to].
    fn paused_between(&self, from: i64, to: i64) -> i64 {
        self.pauses
            .iter()
            .map(|&(start, end)| (end.min(to) - start.max(from)).max(0))
            .sum()
    }
}

/// ms → minutes rounded to 2 decimals; computed as hundredths of a minute (600 ms each) so
/// exact values such as 42624.95 come out exact.
fn minutes_2dp(ms: i64) -> f64 {
    (ms as f64 / 600.0).round() / 100.0
}

fn write_metrics(ticket: &mut Ticket, m: &Metrics) {
    ticket.agent_service_duration = m.agent_service_duration;
    ticket.agent_first_response_duration = m.agent_first_response_duration;
    ticket.bot_service_duration = m.bot_service_duration;
    ticket.agent_resolution_time = m.agent_resolution_time;
    ticket.actual_processing_time = m.actual_processing_time;
    ticket.agent_entry_time = m.agent_entry_time;
    ticket.agent_first_response_time = m.agent_first_response_time;
    ticket.agent_last_response_time = m.agent_last_response_time;
}

// ---- transitions -------------------------------------------------------------------------------
// Each helper checks everything first and only then writes, so an error leaves the ticket as it was.

fn is_created(ticket: &Ticket) -> bool {
    ticket.status != 0
}

fn is_closed(ticket: &Ticket) -> bool {
    phase(ticket.status) == Phase::Closed
}

fn ensure_open(ticket: &Ticket) -> Result<()> {
    if is_closed(ticket) {
        Err(LifecycleError::Closed)
    } else {
        Ok(())
    }
}

fn user(open_id: &str) -> TicketUser {
    TicketUser {
        id: open_id.to_owned(),
        ..Default::default()
    }
}

fn has_agent(ticket: &Ticket, open_id: &str) -> bool {
    ticket.agents.iter().any(|a| a.id == open_id)
}

fn create(ticket: &mut Ticket, at: i64, guest_id: &str, channel: i64, human_service: bool) -> Result<()> {
    if channel < 0 {
        return Err(LifecycleError::InvalidChannel(channel));
    }
    let (stage, status) = if human_service {
        (TicketStage::Human, TicketStatus::Queued)
    } else {
        (TicketStage::Bot, TicketStatus::Created)
    };
    *ticket = Ticket {
        guest: user(guest_id),
        ticket_type: stage as i64,
        status: status.code(),
        created_at: at,
        channel,
        solve: 1,
        ..empty_ticket(&ticket.ticket_id, &ticket.helpdesk_id)
    };
    Ok(())
}

fn import(ticket: &mut Ticket, snapshot: &ImportedTicket) -> Result<()> {
    // A status of 0 would read as "not created", so unknown codes are refused.
    if TicketStatus::from_code(snapshot.status).is_none() {
        return Err(LifecycleError::InvalidStatus(snapshot.status));
    }
    if TicketStage::from_code(snapshot.ticket_type).is_none() {
        return Err(LifecycleError::InvalidStage(snapshot.ticket_type));
    }
    let mut imported = snapshot.to_ticket();
    if imported.ticket_id.is_empty() {
        imported.ticket_id = std::mem::take(&mut ticket.ticket_id);
    }
    if imported.helpdesk_id.is_empty() {
        imported.helpdesk_id = std::mem::take(&mut ticket.helpdesk_id);
    }
    *ticket = imported;
    Ok(())
}

/// Every event except `Created`/`Imported`, on a created ticket.
fn transition(ticket: &mut Ticket, event: &TicketEvent) -> Result<()> {
    let at = event.at_ms;
    match &event.kind {
        // Refused by `apply` before it gets here; kept so the match stays exhaustive.
        EventKind::Created { .. } | EventKind::Imported { .. } => Err(LifecycleError::AlreadyCreated),
        EventKind::Message {
            sender, sender_id, ..
        } => message(ticket, *sender, sender_id),
        EventKind::HumanRequested => human_requested(ticket),
        EventKind::AgentEntered { agent_id } => agent_entered(ticket, agent_id),
        EventKind::AgentLeft { agent_id } => agent_left(ticket, agent_id),
        EventKind::StatusChanged { status } => status_changed(ticket, *status),
        EventKind::Closed { status, by_id } => close(ticket, at, *status, by_id.as_deref()),
        EventKind::Reopened => reopen(ticket),
        EventKind::Commented {
            comment_id,
            content,
            user_id,
            user_name,
            user_avatar_url,
        } => {
            ticket.comments = Some(Comments {
                content: content.clone(),
                created_at: at,
                id: *comment_id,
                user_avatar_url: user_avatar_url.clone(),
                user_name: user_name.clone(),
                user_id: *user_id,
            });
            Ok(())
        }
        EventKind::Tagged { tags } => {
            add_tags(ticket, tags);
            Ok(())
        }
        EventKind::CustomizedFieldsSet { fields } => {
            set_fields(ticket, fields);
            Ok(())
        }
        EventKind::StageChanged { ticket_type } => {
            TicketStage::from_code(*ticket_type).ok_or(LifecycleError::InvalidStage(*ticket_type))?;
            ticket.ticket_type = *ticket_type;
            Ok(())
        }
        EventKind::SolvedSet { solve } => {
            if !matches!(solve, 1 | 2) {
                return Err(LifecycleError::InvalidSolve(*solve));
            }
            ticket.solve = *solve;
            Ok(())
        }
        EventKind::ChannelSet { channel } => {
            if *channel < 0 {
                return Err(LifecycleError::InvalidChannel(*channel));
            }
            ticket.channel = *channel;
            Ok(())
        }
        EventKind::Rated {
            score,
            dissatisfaction_reason,
        } => rate(ticket, *score, dissatisfaction_reason),
        EventKind::CollaboratorAdded { user_id } => {
            if !ticket.collaborators.iter().any(|c| c.id == *user_id) {
                ticket.collaborators.push(user(user_id));
            }
            Ok(())
        }
    }
}

fn message(ticket: &mut Ticket, sender: Sender, sender_id: &str) -> Result<()> {
    ensure_open(ticket)?;
    if sender == Sender::Agent && !has_agent(ticket, sender_id) {
        return Err(LifecycleError::NotAnAgentOfTicket {
            agent_id: sender_id.to_owned(),
        });
    }
    if ticket.status == TicketStatus::Created.code() {
        ticket.status = TicketStatus::InProgress.code();
    }
    Ok(())
}

fn human_requested(ticket: &mut Ticket) -> Result<()> {
    ensure_open(ticket)?;
    if ticket.ticket_type != TicketStage::Bot as i64 {
        return Err(LifecycleError::NotInBotStage);
    }
    ticket.ticket_type = TicketStage::Human as i64;
    ticket.status = TicketStatus::Queued.code();
    Ok(())
}

fn agent_entered(ticket: &mut Ticket, agent_id: &str) -> Result<()> {
    ensure_open(ticket)?;
    ticket.ticket_type = TicketStage::Human as i64;
    // Pending and waiting-for-user are deliberate states an arriving agent does not override.
    if matches!(
        TicketStatus::from_code(ticket.status),
        Some(TicketStatus::Created | TicketStatus::Queued)
    ) {
        ticket.status = TicketStatus::InProgress.code();
    }
    if !has_agent(ticket, agent_id) {
        ticket.agents.push(user(agent_id));
    }
    ticket.agent_owner = Some(user(agent_id));
    Ok(())
}

fn agent_left(ticket: &mut Ticket, agent_id: &str) -> Result<()> {
    if !has_agent(ticket, agent_id) {
        return Err(LifecycleError::NotAnAgentOfTicket {
            agent_id: agent_id.to_owned(),
        });
    }
    ticket.agents.retain(|a| a.id != agent_id);
    ticket.agent_owner = ticket.agents.last().cloned();
    if ticket.agents.is_empty() && !is_closed(ticket) {
        ticket.status = TicketStatus::Queued.code();
    }
    Ok(())
}

fn status_changed(ticket: &mut Ticket, status: i64) -> Result<()> {
    match TicketStatus::from_code(status) {
        Some(s) if !s.is_closed() => {}
        _ => return Err(LifecycleError::InvalidStatus(status)),
    }
    ensure_open(ticket)?;
    ticket.status = status;
    Ok(())
}

fn close(ticket: &mut Ticket, at: i64, status: i64, by_id: Option<&str>) -> Result<()> {
    if !TicketStatus::from_code(status).is_some_and(TicketStatus::is_closed) {
        return Err(LifecycleError::InvalidStatus(status));
    }
    ensure_open(ticket)?;
    ticket.status = status;
    ticket.closed_at = at;
    ticket.closed_by = by_id.map(user);
    Ok(())
}

fn reopen(ticket: &mut Ticket) -> Result<()> {
    if !is_closed(ticket) {
        return Err(LifecycleError::NotClosed);
    }
    let status = if !ticket.agents.is_empty() {
        TicketStatus::InProgress
    } else if ticket.ticket_type == TicketStage::Bot as i64 {
        TicketStatus::Created
    } else {
        TicketStatus::Queued
    };
    ticket.status = status.code();
    ticket.closed_at = 0;
    ticket.closed_by = None;
    Ok(())
}

fn rate(ticket: &mut Ticket, score: i64, reason: &Option<Reason>) -> Result<()> {
    if !(1..=3).contains(&score) {
        return Err(LifecycleError::InvalidScore(score));
    }
    ticket.score = score;
    ticket.dissatisfaction_reason = reason.clone().map(I18n::from);
    Ok(())
}

fn add_tags(ticket: &mut Ticket, tags: &[(String, String)]) {
    for (id, name) in tags {
        if !ticket.tags.iter().any(|t| t.name == *name) {
            ticket.tags.push(TicketTag {
                id: id.clone(),
                name: name.clone(),
            });
        }
    }
}

fn set_fields(ticket: &mut Ticket, fields: &[FieldValue]) {
    for field in fields {
        let field = CustomizedFieldDisplayItem::from(field.clone());
        match ticket.customized_fields.iter_mut().find(|f| f.id == field.id) {
            Some(existing) => *existing = field,
            None => ticket.customized_fields.push(field),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Actor;
    use proptest::prelude::*;

    const T0: i64 = 1_700_000_000_000;
    const GUEST: &str = "ou_guest";
    const A: &str = "ou_agent_a";
    const B: &str = "ou_agent_b";

    /// Seconds after T0, in ms.
    fn at(s: i64) -> i64 {
        T0 + s * 1000
    }

    fn ev(at_ms: i64, actor: Actor, kind: EventKind) -> TicketEvent {
        TicketEvent { at_ms, actor, kind }
    }

    fn created(ms: i64, human_service: bool) -> TicketEvent {
        let kind = EventKind::Created {
            guest_id: GUEST.into(),
            channel: 9,
            human_service,
        };
        ev(ms, Actor::Guest(GUEST.into()), kind)
    }

    fn says(ms: i64, sender: Sender, sender_id: &str) -> TicketEvent {
        let actor = match sender {
            Sender::Bot => Actor::Bot,
            Sender::Guest => Actor::Guest(sender_id.into()),
            Sender::Agent => Actor::Agent(sender_id.into()),
        };
        let kind = EventKind::Message {
            sender,
            sender_id: sender_id.into(),
            message_id: format!("om_{ms}"),
            msg_type: "text".into(),
            content: "{\"text\":\"hi\"}".into(),
        };
        ev(ms, actor, kind)
    }

    fn guest_says(ms: i64) -> TicketEvent {
        says(ms, Sender::Guest, GUEST)
    }

    fn bot_says(ms: i64) -> TicketEvent {
        says(ms, Sender::Bot, "")
    }

    fn agent_says(ms: i64, agent: &str) -> TicketEvent {
        says(ms, Sender::Agent, agent)
    }

    fn human(ms: i64) -> TicketEvent {
        ev(ms, Actor::Guest(GUEST.into()), EventKind::HumanRequested)
    }

    fn enter(ms: i64, agent: &str) -> TicketEvent {
        ev(
            ms,
            Actor::System,
            EventKind::AgentEntered {
                agent_id: agent.into(),
            },
        )
    }

    fn leave(ms: i64, agent: &str) -> TicketEvent {
        ev(
            ms,
            Actor::System,
            EventKind::AgentLeft {
                agent_id: agent.into(),
            },
        )
    }

    fn status(ms: i64, status: i64) -> TicketEvent {
        ev(ms, Actor::System, EventKind::StatusChanged { status })
    }

    fn close(ms: i64, status: i64, by: Option<&str>) -> TicketEvent {
        ev(
            ms,
            Actor::System,
            EventKind::Closed {
                status,
                by_id: by.map(Into::into),
            },
        )
    }

    fn reopen(ms: i64) -> TicketEvent {
        ev(ms, Actor::System, EventKind::Reopened)
    }

    fn rate(ms: i64, score: i64, reason: Option<I18n>) -> TicketEvent {
        ev(
            ms,
            Actor::Guest(GUEST.into()),
            EventKind::Rated {
                score,
                dissatisfaction_reason: reason.map(Reason::from),
            },
        )
    }

    fn system(ms: i64, kind: EventKind) -> TicketEvent {
        ev(ms, Actor::System, kind)
    }

    /// Project a valid log, checking that `metrics` agrees with what was written.
    fn run(log: &[TicketEvent]) -> Ticket {
        let ticket = project("1001", "hd1", log).expect("valid log");
        assert_eq!(metrics(log), Some(metrics_of(&ticket)));
        ticket
    }

    fn metrics_of(t: &Ticket) -> Metrics {
        Metrics {
            agent_service_duration: t.agent_service_duration,
            agent_first_response_duration: t.agent_first_response_duration,
            bot_service_duration: t.bot_service_duration,
            agent_resolution_time: t.agent_resolution_time,
            actual_processing_time: t.actual_processing_time,
            agent_entry_time: t.agent_entry_time,
            agent_first_response_time: t.agent_first_response_time,
            agent_last_response_time: t.agent_last_response_time,
        }
    }

    const NO_METRICS: Metrics = Metrics {
        agent_service_duration: 0.0,
        agent_first_response_duration: 0,
        bot_service_duration: 0,
        agent_resolution_time: 0,
        actual_processing_time: 0,
        agent_entry_time: 0,
        agent_first_response_time: 0,
        agent_last_response_time: 0,
    };

    /// The projected fields most scenarios care about.
    #[derive(Debug, PartialEq)]
    struct Shape<'a> {
        status: i64,
        ticket_type: i64,
        agents: Vec<&'a str>,
        owner: Option<&'a str>,
        closed_by: Option<&'a str>,
        closed_at: i64,
        updated_at: i64,
    }

    fn shape(t: &Ticket) -> Shape<'_> {
        Shape {
            status: t.status,
            ticket_type: t.ticket_type,
            agents: t.agents.iter().map(|a| a.id.as_str()).collect(),
            owner: t.agent_owner.as_ref().map(|u| u.id.as_str()),
            closed_by: t.closed_by.as_ref().map(|u| u.id.as_str()),
            closed_at: t.closed_at,
            updated_at: t.updated_at,
        }
    }

    fn without_metrics(t: &Ticket) -> Ticket {
        let mut t = t.clone();
        write_metrics(&mut t, &Metrics::default());
        t
    }

    fn assert_rejected(ticket: &Ticket, event: TicketEvent, expected: LifecycleError) {
        let mut t = ticket.clone();
        assert_eq!(apply(&mut t, &event), Err(expected));
        assert_eq!(&t, ticket, "a rejected event must leave the ticket unchanged");
    }

    // ---- scenarios ---------------------------------------------------------------------------

    #[test]
    fn bot_only_ticket_closed_by_bot() {
        let t = run(&[
            created(at(0), false),
            guest_says(at(1)),
            bot_says(at(2)),
            close(at(30), 50, None),
        ]);
        assert_eq!(
            shape(&t),
            Shape {
                status: 50,
                ticket_type: 1,
                agents: vec![],
                owner: None,
                closed_by: None,
                closed_at: at(30),
                updated_at: at(30)
            }
        );
        assert_eq!((t.ticket_id.as_str(), t.helpdesk_id.as_str()), ("1001", "hd1"));
        assert_eq!(
            (t.guest.id.as_str(), t.created_at, t.channel, t.solve, t.score),
            (GUEST, at(0), 9, 1, 0)
        );
        assert_eq!(metrics_of(&t), NO_METRICS);
    }

    #[test]
    fn bot_ticket_closed_by_user_without_agent() {
        let t = run(&[
            created(at(0), false),
            guest_says(at(1)),
            close(at(20), 52, Some(GUEST)),
        ]);
        assert_eq!(
            shape(&t),
            Shape {
                status: 52,
                ticket_type: 1,
                agents: vec![],
                owner: None,
                closed_by: Some(GUEST),
                closed_at: at(20),
                updated_at: at(20)
            }
        );
        // Closed, but no agent ever entered: no resolution time.
        assert_eq!(metrics_of(&t), NO_METRICS);
    }

    #[test]
    fn human_service_ticket_starts_queued() {
        let t = run(&[created(at(0), true)]);
        assert_eq!(
            shape(&t),
            Shape {
                status: 3,
                ticket_type: 2,
                agents: vec![],
                owner: None,
                closed_by: None,
                closed_at: 0,
                updated_at: -1
            }
        );
        assert_eq!(
            (t.created_at, t.solve, t.score, t.comments.clone()),
            (at(0), 1, 0, None)
        );
        assert_eq!(metrics_of(&t), NO_METRICS);

        // A guest message does not take the ticket out of the queue.
        let t = run(&[created(at(0), true), guest_says(at(5))]);
        assert_eq!((t.status, t.updated_at), (3, at(5)));
        assert_eq!(metrics_of(&t), NO_METRICS);
    }

    #[test]
    fn human_requested_agent_replies_and_closes() {
        let log = [
            created(at(0), false),
            guest_says(at(5)),
            bot_says(at(6)),
            human(at(10)),
            enter(at(70), A),
            agent_says(at(100), A),
            guest_says(at(130)),
            agent_says(at(250), A),
            close(at(400), 51, Some(A)),
        ];
        let queued = run(&log[..4]);
        assert_eq!((queued.status, queued.ticket_type), (3, 2));
        let entered = run(&log[..5]);
        assert_eq!(
            (
                entered.status,
                entered.agent_owner.as_ref().map(|u| u.id.as_str())
            ),
            (2, Some(A))
        );

        let t = run(&log);
        assert_eq!(
            shape(&t),
            Shape {
                status: 51,
                ticket_type: 2,
                agents: vec![A],
                owner: Some(A),
                closed_by: Some(A),
                closed_at: at(400),
                updated_at: at(400)
            }
        );
        assert_eq!(
            metrics_of(&t),
            Metrics {
                agent_service_duration: 3.0,
                agent_first_response_duration: 30,
                bot_service_duration: 70,
                agent_resolution_time: 330,
                actual_processing_time: 330,
                agent_entry_time: at(70),
                agent_first_response_time: at(100),
                agent_last_response_time: at(250),
            }
        );
    }

    #[test]
    fn pending_span_in_the_middle_is_excluded() {
        let t = run(&[
            created(at(0), true),
            enter(at(10), A),
            agent_says(at(20), A),
            status(at(50), 4),
            status(at(170), 2),
            agent_says(at(200), A),
            close(at(310), 51, Some(A)),
        ]);
        assert_eq!(
            shape(&t),
            Shape {
                status: 51,
                ticket_type: 2,
                agents: vec![A],
                owner: Some(A),
                closed_by: Some(A),
                closed_at: at(310),
                updated_at: at(310)
            }
        );
        assert_eq!(
            metrics_of(&t),
            Metrics {
                agent_service_duration: 3.17, // 190 s
                agent_first_response_duration: 10,
                bot_service_duration: 10,
                agent_resolution_time: 300,
                actual_processing_time: 180, // 120 s pending
                agent_entry_time: at(10),
                agent_first_response_time: at(20),
                agent_last_response_time: at(200),
            }
        );
    }

    #[test]
    fn pending_at_close_ends_at_close() {
        let t = run(&[
            created(at(0), true),
            enter(at(10), A),
            agent_says(at(40), A),
            status(at(100), 4),
            close(at(250), 51, Some(A)),
        ]);
        assert_eq!(
            shape(&t),
            Shape {
                status: 51,
                ticket_type: 2,
                agents: vec![A],
                owner: Some(A),
                closed_by: Some(A),
                closed_at: at(250),
                updated_at: at(250)
            }
        );
        assert_eq!(
            metrics_of(&t),
            Metrics {
                agent_service_duration: 0.5,
                agent_first_response_duration: 30,
                bot_service_duration: 10,
                agent_resolution_time: 240,
                actual_processing_time: 90, // 150 s pending until the close
                agent_entry_time: at(10),
                agent_first_response_time: at(40),
                agent_last_response_time: at(40),
            }
        );
    }

    #[test]
    fn two_pending_spans_are_both_excluded() {
        let t = run(&[
            created(at(0), true),
            enter(at(30), A),
            agent_says(at(60), A),
            status(at(100), 4),
            status(at(160), 2),
            agent_says(at(200), A),
            status(at(300), 4),
            status(at(345), 5), // pending → waiting for user: the pause ends here
            agent_says(at(400), A),
            close(at(500), 51, Some(A)),
        ]);
        assert_eq!(
            shape(&t),
            Shape {
                status: 51,
                ticket_type: 2,
                agents: vec![A],
                owner: Some(A),
                closed_by: Some(A),
                closed_at: at(500),
                updated_at: at(500)
            }
        );
        assert_eq!(
            metrics_of(&t),
            Metrics {
                agent_service_duration: 6.17, // 370 s
                agent_first_response_duration: 30,
                bot_service_duration: 30,
                agent_resolution_time: 470,
                actual_processing_time: 365, // 60 s + 45 s pending
                agent_entry_time: at(30),
                agent_first_response_time: at(60),
                agent_last_response_time: at(400),
            }
        );
    }

    #[test]
    fn waiting_for_user_does_not_pause() {
        let log = [
            created(at(0), true),
            enter(at(10), A),
            agent_says(at(20), A),
            status(at(30), 5),
            guest_says(at(200)),
            agent_says(at(210), A),
            close(at(300), 51, Some(A)),
        ];
        // Messages only move status 1 forward; 5 stays until someone changes it.
        assert_eq!(run(&log[..6]).status, 5);
        let t = run(&log);
        assert_eq!(
            shape(&t),
            Shape {
                status: 51,
                ticket_type: 2,
                agents: vec![A],
                owner: Some(A),
                closed_by: Some(A),
                closed_at: at(300),
                updated_at: at(300)
            }
        );
        assert_eq!(
            metrics_of(&t),
            Metrics {
                agent_service_duration: 3.33, // 200 s
                agent_first_response_duration: 10,
                bot_service_duration: 10,
                agent_resolution_time: 290,
                actual_processing_time: 290,
                agent_entry_time: at(10),
                agent_first_response_time: at(20),
                agent_last_response_time: at(210),
            }
        );
    }

    #[test]
    fn reopen_then_close_again_excludes_the_closed_gap_from_actual_only() {
        let log = [
            created(at(0), true),
            enter(at(100), A),
            agent_says(at(160), A),
            close(at(400), 51, Some(A)),
            reopen(at(1000)),
            guest_says(at(1010)),
            agent_says(at(1100), A),
            close(at(1300), 51, Some(A)),
        ];
        let reopened = run(&log[..5]);
        assert_eq!(
            shape(&reopened),
            Shape {
                status: 2,
                ticket_type: 2,
                agents: vec![A],
                owner: Some(A),
                closed_by: None,
                closed_at: 0,
                updated_at: at(1000)
            }
        );
        // Open at the end of the log: no resolution yet.
        assert_eq!(
            metrics_of(&reopened),
            Metrics {
                agent_service_duration: 1.0,
                agent_first_response_duration: 60,
                bot_service_duration: 100,
                agent_resolution_time: 0,
                actual_processing_time: 0,
                agent_entry_time: at(100),
                agent_first_response_time: at(160),
                agent_last_response_time: at(160),
            }
        );

        let t = run(&log);
        assert_eq!(
            shape(&t),
            Shape {
                status: 51,
                ticket_type: 2,
                agents: vec![A],
                owner: Some(A),
                closed_by: Some(A),
                closed_at: at(1300),
                updated_at: at(1300)
            }
        );
        assert_eq!(
            metrics_of(&t),
            Metrics {
                agent_service_duration: 16.67, // 1000 s
                agent_first_response_duration: 60,
                bot_service_duration: 100,
                agent_resolution_time: 1200,
                actual_processing_time: 600, // closed from 400 to 1000
                agent_entry_time: at(100),
                agent_first_response_time: at(160),
                agent_last_response_time: at(1100),
            }
        );
    }

    #[test]
    fn agent_reassignment_keeps_first_entry_time() {
        let log = [
            created(at(0), false),
            human(at(5)),
            enter(at(10), A),
            agent_says(at(15), A),
            leave(at(50), A),
            enter(at(80), B),
            agent_says(at(90), B),
            close(at(200), 51, Some(B)),
        ];
        let left = run(&log[..5]);
        assert_eq!(
            shape(&left),
            Shape {
                status: 3,
                ticket_type: 2,
                agents: vec![],
                owner: None,
                closed_by: None,
                closed_at: 0,
                updated_at: at(50)
            }
        );
        let t = run(&log);
        assert_eq!(
            shape(&t),
            Shape {
                status: 51,
                ticket_type: 2,
                agents: vec![B],
                owner: Some(B),
                closed_by: Some(B),
                closed_at: at(200),
                updated_at: at(200)
            }
        );
        assert_eq!(
            metrics_of(&t),
            Metrics {
                agent_service_duration: 1.33, // 80 s
                agent_first_response_duration: 5,
                bot_service_duration: 10,
                agent_resolution_time: 190,
                actual_processing_time: 190, // queued between agents is not a pause
                agent_entry_time: at(10),
                agent_first_response_time: at(15),
                agent_last_response_time: at(90),
            }
        );
    }

    #[test]
    fn second_agent_takes_ownership_and_leaving_hands_it_back() {
        let log = [
            created(at(0), true),
            enter(at(10), A),
            enter(at(20), B),
            enter(at(25), A),
        ];
        let both = run(&log);
        assert_eq!(
            shape(&both),
            Shape {
                status: 2,
                ticket_type: 2,
                agents: vec![A, B],
                owner: Some(A),
                closed_by: None,
                closed_at: 0,
                updated_at: at(25)
            }
        );
        let mut log = log.to_vec();
        log.extend([leave(at(30), A), leave(at(40), B)]);
        let one_left = run(&log[..5]);
        assert_eq!(
            (one_left.status, shape(&one_left).agents, shape(&one_left).owner),
            (2, vec![B], Some(B))
        );
        let t = run(&log);
        assert_eq!(
            shape(&t),
            Shape {
                status: 3,
                ticket_type: 2,
                agents: vec![],
                owner: None,
                closed_by: None,
                closed_at: 0,
                updated_at: at(40)
            }
        );
        assert_eq!(
            metrics_of(&t),
            Metrics {
                bot_service_duration: 10,
                agent_entry_time: at(10),
                ..NO_METRICS
            }
        );
    }

    #[test]
    fn agent_entered_but_never_replied() {
        let t = run(&[
            created(at(0), true),
            enter(at(20), A),
            guest_says(at(30)),
            close(at(90), 51, Some(A)),
        ]);
        assert_eq!(
            shape(&t),
            Shape {
                status: 51,
                ticket_type: 2,
                agents: vec![A],
                owner: Some(A),
                closed_by: Some(A),
                closed_at: at(90),
                updated_at: at(90)
            }
        );
        assert_eq!(
            metrics_of(&t),
            Metrics {
                agent_service_duration: 0.0,
                agent_first_response_duration: 0,
                bot_service_duration: 20,
                agent_resolution_time: 70,
                actual_processing_time: 70,
                agent_entry_time: at(20),
                agent_first_response_time: 0,
                agent_last_response_time: 0,
            }
        );
    }

    #[test]
    fn agent_replies_then_closes_and_seconds_truncate() {
        let t = run(&[
            created(T0, true),
            enter(T0 + 500, A),
            agent_says(T0 + 2_499, A),
            close(T0 + 3_499, 51, Some(A)),
        ]);
        assert_eq!(
            shape(&t),
            Shape {
                status: 51,
                ticket_type: 2,
                agents: vec![A],
                owner: Some(A),
                closed_by: Some(A),
                closed_at: T0 + 3_499,
                updated_at: T0 + 3_499
            }
        );
        assert_eq!(
            metrics_of(&t),
            Metrics {
                agent_service_duration: 0.03,     // 1 999 ms
                agent_first_response_duration: 1, // 1 999 ms
                bot_service_duration: 0,          // 500 ms
                agent_resolution_time: 2,         // 2 999 ms
                actual_processing_time: 2,
                agent_entry_time: T0 + 500,
                agent_first_response_time: T0 + 2_499,
                agent_last_response_time: T0 + 2_499,
            }
        );
    }

    #[test]
    fn actual_time_subtracts_pauses_in_ms_before_truncating() {
        // 10 400 ms resolution − 500 ms pending = 9 900 ms → 9 s. Subtracting truncated seconds
        // (10 − 0) would give 10.
        let t = run(&[
            created(T0, true),
            enter(T0, A),
            status(T0 + 1_000, 4),
            status(T0 + 1_500, 2),
            close(T0 + 10_400, 51, Some(A)),
        ]);
        assert_eq!(
            metrics_of(&t),
            Metrics {
                agent_service_duration: 0.0,
                agent_first_response_duration: 0,
                bot_service_duration: 0,
                agent_resolution_time: 10,
                actual_processing_time: 9,
                agent_entry_time: T0,
                agent_first_response_time: 0,
                agent_last_response_time: 0,
            }
        );
        assert_eq!(
            shape(&t),
            Shape {
                status: 51,
                ticket_type: 2,
                agents: vec![A],
                owner: Some(A),
                closed_by: Some(A),
                closed_at: T0 + 10_400,
                updated_at: T0 + 10_400
            }
        );
    }

    #[test]
    fn pending_before_agent_entry_is_clipped_to_entry() {
        let log = [
            created(at(0), false),
            guest_says(at(2)),
            status(at(5), 4),
            enter(at(30), A), // pending stays pending
            status(at(60), 2),
            agent_says(at(70), A),
            close(at(100), 51, Some(A)),
        ];
        assert_eq!((run(&log[..4]).status, run(&log[..4]).ticket_type), (4, 2));
        let t = run(&log);
        assert_eq!(
            shape(&t),
            Shape {
                status: 51,
                ticket_type: 2,
                agents: vec![A],
                owner: Some(A),
                closed_by: Some(A),
                closed_at: at(100),
                updated_at: at(100)
            }
        );
        assert_eq!(
            metrics_of(&t),
            Metrics {
                agent_service_duration: 0.67, // 40 s
                agent_first_response_duration: 40,
                bot_service_duration: 30,
                agent_resolution_time: 70,
                actual_processing_time: 40, // pending 5..60, of which 30..60 after entry
                agent_entry_time: at(30),
                agent_first_response_time: at(70),
                agent_last_response_time: at(70),
            }
        );
    }

    #[test]
    fn bot_close_reopen_then_agent_handles_it() {
        let log = [
            created(at(0), false),
            close(at(10), 50, None),
            reopen(at(20)),
            human(at(25)),
            enter(at(40), A),
            agent_says(at(50), A),
            close(at(100), 51, Some(A)),
        ];
        let reopened = run(&log[..3]);
        assert_eq!(
            (reopened.status, reopened.ticket_type, reopened.closed_at),
            (1, 1, 0)
        );
        let t = run(&log);
        assert_eq!(
            shape(&t),
            Shape {
                status: 51,
                ticket_type: 2,
                agents: vec![A],
                owner: Some(A),
                closed_by: Some(A),
                closed_at: at(100),
                updated_at: at(100)
            }
        );
        // The bot-stage closed gap (10..20) lies before entry and does not count.
        assert_eq!(
            metrics_of(&t),
            Metrics {
                agent_service_duration: 0.17, // 10 s
                agent_first_response_duration: 10,
                bot_service_duration: 40,
                agent_resolution_time: 60,
                actual_processing_time: 60,
                agent_entry_time: at(40),
                agent_first_response_time: at(50),
                agent_last_response_time: at(50),
            }
        );
    }

    #[test]
    fn reopen_without_agents_goes_back_to_the_queue() {
        let t = run(&[
            created(at(0), true),
            close(at(10), 52, Some(GUEST)),
            reopen(at(20)),
        ]);
        assert_eq!(
            shape(&t),
            Shape {
                status: 3,
                ticket_type: 2,
                agents: vec![],
                owner: None,
                closed_by: None,
                closed_at: 0,
                updated_at: at(20)
            }
        );
        assert_eq!(metrics_of(&t), NO_METRICS);
    }

    #[test]
    fn agent_leaving_a_closed_ticket_keeps_it_closed() {
        let t = run(&[
            created(at(0), true),
            enter(at(5), A),
            close(at(10), 51, Some(A)),
            leave(at(20), A),
        ]);
        assert_eq!(
            shape(&t),
            Shape {
                status: 51,
                ticket_type: 2,
                agents: vec![],
                owner: None,
                closed_by: Some(A),
                closed_at: at(10),
                updated_at: at(20)
            }
        );
        assert_eq!(
            metrics_of(&t),
            Metrics {
                agent_service_duration: 0.0,
                agent_first_response_duration: 0,
                bot_service_duration: 5,
                agent_resolution_time: 5,
                actual_processing_time: 5,
                agent_entry_time: at(5),
                agent_first_response_time: 0,
                agent_last_response_time: 0,
            }
        );
    }

    #[test]
    fn rating_with_dissatisfaction_reason() {
        let reason = I18n {
            zh_cn: "答案看不懂".into(),
            en_us: "I don't understand".into(),
            ja_jp: String::new(),
        };
        let log = [
            created(at(0), true),
            enter(at(10), A),
            agent_says(at(20), A),
            close(at(60), 51, Some(A)),
            rate(at(100), 1, Some(reason.clone())),
        ];
        let t = run(&log);
        assert_eq!((t.score, t.dissatisfaction_reason.clone()), (1, Some(reason)));
        assert_eq!(
            shape(&t),
            Shape {
                status: 51,
                ticket_type: 2,
                agents: vec![A],
                owner: Some(A),
                closed_by: Some(A),
                closed_at: at(60),
                updated_at: at(100)
            }
        );
        // Resolution ends at the close, not at the (later) rating.
        assert_eq!(
            metrics_of(&t),
            Metrics {
                agent_service_duration: 0.17, // 10 s
                agent_first_response_duration: 10,
                bot_service_duration: 10,
                agent_resolution_time: 50,
                actual_processing_time: 50,
                agent_entry_time: at(10),
                agent_first_response_time: at(20),
                agent_last_response_time: at(20),
            }
        );

        let mut rerated = log.to_vec();
        rerated.push(rate(at(120), 3, None));
        let t = run(&rerated);
        assert_eq!(
            (t.score, t.dissatisfaction_reason, t.updated_at),
            (3, None, at(120))
        );
    }

    #[test]
    fn tags_are_deduplicated_by_name() {
        let tag = |ms, pairs: &[(&str, &str)]| {
            let tags = pairs
                .iter()
                .map(|(i, n)| (i.to_string(), n.to_string()))
                .collect();
            system(ms, EventKind::Tagged { tags })
        };
        let t = run(&[
            created(at(0), false),
            tag(at(5), &[("1", "billing"), ("2", "vip")]),
            tag(at(6), &[("3", "billing"), ("4", "urgent"), ("5", "urgent")]),
        ]);
        let tags: Vec<(&str, &str)> = t.tags.iter().map(|t| (t.id.as_str(), t.name.as_str())).collect();
        assert_eq!(tags, [("1", "billing"), ("2", "vip"), ("4", "urgent")]);
        assert_eq!(
            shape(&t),
            Shape {
                status: 1,
                ticket_type: 1,
                agents: vec![],
                owner: None,
                closed_by: None,
                closed_at: 0,
                updated_at: at(6)
            }
        );
        assert_eq!(metrics_of(&t), NO_METRICS);
    }

    #[test]
    fn customized_fields_are_replaced_by_id() {
        let field = |id: &str, value: &str| CustomizedFieldDisplayItem {
            id: id.into(),
            value: value.into(),
            key_name: format!("key_{id}"),
            ..Default::default()
        };
        let set = |ms, fields: Vec<CustomizedFieldDisplayItem>| {
            let fields = fields.into_iter().map(FieldValue::from).collect();
            system(ms, EventKind::CustomizedFieldsSet { fields })
        };
        let t = run(&[
            created(at(0), false),
            set(at(1), vec![field("1", "a"), field("2", "b")]),
            set(at(2), vec![field("2", "B"), field("3", "c")]),
        ]);
        assert_eq!(
            t.customized_fields,
            vec![field("1", "a"), field("2", "B"), field("3", "c")]
        );
        assert_eq!(
            shape(&t),
            Shape {
                status: 1,
                ticket_type: 1,
                agents: vec![],
                owner: None,
                closed_by: None,
                closed_at: 0,
                updated_at: at(2)
            }
        );
        assert_eq!(metrics_of(&t), NO_METRICS);
    }

    #[test]
    fn comment_replaces_the_note() {
        let comment = |ms, id, content: &str| {
            system(
                ms,
                EventKind::Commented {
                    comment_id: id,
                    content: content.into(),
                    user_id: 7_262_656_095_919_128_578,
                    user_name: "Ann".into(),
                    user_avatar_url: "https://a".into(),
                },
            )
        };
        let t = run(&[
            created(at(0), true),
            comment(at(3), 1, "first"),
            comment(at(8), 2, "second"),
        ]);
        assert_eq!(
            t.comments,
            Some(Comments {
                content: "second".into(),
                created_at: at(8),
                id: 2,
                user_avatar_url: "https://a".into(),
                user_name: "Ann".into(),
                user_id: 7_262_656_095_919_128_578,
            })
        );
        assert_eq!(
            shape(&t),
            Shape {
                status: 3,
                ticket_type: 2,
                agents: vec![],
                owner: None,
                closed_by: None,
                closed_at: 0,
                updated_at: at(8)
            }
        );
        assert_eq!(metrics_of(&t), NO_METRICS);
    }

    #[test]
    fn stage_solve_channel_and_collaborators() {
        let t = run(&[
            created(at(0), false),
            system(at(1), EventKind::StageChanged { ticket_type: 2 }),
            system(at(2), EventKind::SolvedSet { solve: 2 }),
            system(at(3), EventKind::ChannelSet { channel: 14 }),
            system(
                at(4),
                EventKind::CollaboratorAdded {
                    user_id: "ou_c".into(),
                },
            ),
            system(
                at(5),
                EventKind::CollaboratorAdded {
                    user_id: "ou_c".into(),
                },
            ),
        ]);
        assert_eq!(
            (t.ticket_type, t.solve, t.channel, t.updated_at),
            (2, 2, 14, at(5))
        );
        assert_eq!(t.collaborators, vec![user("ou_c")]);
        assert_eq!(metrics_of(&t), NO_METRICS);
    }

    /// The seed's example ticket, as an import would bring it in.
    fn seed_snapshot() -> Ticket {
        Ticket {
            guest: user(GUEST),
            ticket_type: 2,
            status: 51,
            score: 1,
            created_at: 1_616_920_429_000,
            updated_at: 1_616_920_429_000,
            closed_at: 1_616_920_429_000,
            agents: vec![user(A)],
            solve: 1,
            closed_by: Some(user(A)),
            agent_owner: Some(user(A)),
            agent_service_duration: 42624.95,
            agent_first_response_duration: 123_869,
            bot_service_duration: 1,
            agent_resolution_time: 66,
            actual_processing_time: 68,
            agent_entry_time: 1_636_444_596_000,
            agent_first_response_time: 1_636_444_696_000,
            agent_last_response_time: 1_636_444_796_000,
            ..empty_ticket("", "")
        }
    }

    #[test]
    fn imported_snapshot_keeps_its_metrics_and_later_events_update_status() {
        let snap = seed_snapshot();
        let t0 = snap.updated_at;
        let log = [
            system(
                t0,
                EventKind::Imported {
                    snapshot: Box::new(ImportedTicket::from(&snap)),
                },
            ),
            reopen(t0 + 1_000),
            agent_says(t0 + 2_000, A),
            close(t0 + 5_000, 52, Some(GUEST)),
        ];
        assert_eq!(metrics(&log), None);
        let imported = project("1001", "hd1", &log[..1]).unwrap();
        assert_eq!(
            imported,
            Ticket {
                ticket_id: "1001".into(),
                helpdesk_id: "hd1".into(),
                ..snap.clone()
            }
        );

        let t = project("1001", "hd1", &log).unwrap();
        assert_eq!(
            shape(&t),
            Shape {
                status: 52,
                ticket_type: 2,
                agents: vec![A],
                owner: Some(A),
                closed_by: Some(GUEST),
                closed_at: t0 + 5_000,
                updated_at: t0 + 5_000
            }
        );
        assert_eq!(metrics_of(&t), metrics_of(&snap));

        // The snapshot's own ids win over the ones passed in.
        let named = Ticket {
            ticket_id: "77".into(),
            helpdesk_id: "hd9".into(),
            ..snap
        };
        let t = project(
            "1001",
            "hd1",
            &[system(
                t0,
                EventKind::Imported {
                    snapshot: Box::new(ImportedTicket::from(&named)),
                },
            )],
        )
        .unwrap();
        assert_eq!((t.ticket_id.as_str(), t.helpdesk_id.as_str()), ("77", "hd9"));
    }

    #[test]
    fn seed_agent_service_duration_is_reproduced() {
        // The seed shows 42624.95 minutes; its own entry/last-response samples are only 200 s
        // apart (3.33 minutes), so the example values are independent. 42624.95 min = 2 557 497 000 ms.
        let entry = 1_636_444_596_000;
        let last = entry + 2_557_497_000;
        let t = run(&[created(entry - 1_000, true), enter(entry, A), agent_says(last, A)]);
        assert_eq!(
            metrics_of(&t),
            Metrics {
                agent_service_duration: 42624.95,
                agent_first_response_duration: 2_557_497,
                bot_service_duration: 1,
                agent_resolution_time: 0,
                actual_processing_time: 0,
                agent_entry_time: entry,
                agent_first_response_time: last,
                agent_last_response_time: last,
            }
        );
        assert_eq!(
            shape(&t),
            Shape {
                status: 2,
                ticket_type: 2,
                agents: vec![A],
                owner: Some(A),
                closed_by: None,
                closed_at: 0,
                updated_at: last
            }
        );
        assert_eq!(minutes_2dp(1_636_444_796_000 - 1_636_444_596_000), 3.33);
        // Rounding is to the nearest hundredth, half away from zero.
        assert_eq!(minutes_2dp(2_557_497_299), 42624.95);
        assert_eq!(minutes_2dp(2_557_497_300), 42624.96);
    }

    // ---- rejected events -----------------------------------------------------------------------

    fn open_ticket_with_agent() -> Ticket {
        run(&[created(at(0), true), enter(at(10), A), agent_says(at(20), A)])
    }

    fn closed_ticket() -> Ticket {
        run(&[created(at(0), true), enter(at(10), A), close(at(30), 51, Some(A))])
    }

    #[test]
    fn events_before_created_are_rejected() {
        let empty = empty_ticket("1001", "hd1");
        assert_rejected(&empty, guest_says(at(0)), LifecycleError::NotCreated);
        assert_rejected(&empty, enter(at(0), A), LifecycleError::NotCreated);
        assert_rejected(&empty, reopen(at(0)), LifecycleError::NotCreated);
        assert_eq!(
            project("1", "h", &[guest_says(at(0)), created(at(1), true)]),
            Err(LifecycleError::NotCreated)
        );
        assert_eq!(metrics(&[guest_says(at(0)), created(at(1), true)]), None);
        assert_eq!(metrics(&[]), None);
    }

    #[test]
    fn creating_twice_is_rejected() {
        let t = open_ticket_with_agent();
        assert_rejected(&t, created(at(30), true), LifecycleError::AlreadyCreated);
        let import = system(
            at(30),
            EventKind::Imported {
                snapshot: Box::new(ImportedTicket::from(&seed_snapshot())),
            },
        );
        assert_rejected(&t, import, LifecycleError::AlreadyCreated);
    }

    #[test]
    fn message_on_closed_ticket_is_rejected() {
        let t = closed_ticket();
        assert_rejected(&t, guest_says(at(40)), LifecycleError::Closed);
        assert_rejected(&t, agent_says(at(40), A), LifecycleError::Closed);
        assert_rejected(&t, enter(at(40), B), LifecycleError::Closed);
        assert_rejected(&t, status(at(40), 2), LifecycleError::Closed);
    }

    #[test]
    fn closing_twice_is_rejected() {
        assert_rejected(
            &closed_ticket(),
            close(at(40), 52, Some(GUEST)),
            LifecycleError::Closed,
        );
    }

    #[test]
    fn reopening_an_open_ticket_is_rejected() {
        assert_rejected(
            &open_ticket_with_agent(),
            reopen(at(40)),
            LifecycleError::NotClosed,
        );
    }

    #[test]
    fn status_change_cannot_close_or_use_unknown_codes() {
        let t = open_ticket_with_agent();
        assert_rejected(&t, status(at(40), 51), LifecycleError::InvalidStatus(51));
        assert_rejected(&t, status(at(40), 0), LifecycleError::InvalidStatus(0));
        assert_rejected(&t, status(at(40), 6), LifecycleError::InvalidStatus(6));
        assert_rejected(&t, close(at(40), 4, Some(A)), LifecycleError::InvalidStatus(4));
    }

    #[test]
    fn events_going_back_in_time_are_rejected() {
        let t = open_ticket_with_agent();
        assert_rejected(
            &t,
            guest_says(at(19)),
            LifecycleError::OutOfOrder {
                at_ms: at(19),
                last_ms: at(20),
            },
        );
        // Same millisecond is fine.
        let mut same = t.clone();
        apply(&mut same, &guest_says(at(20))).unwrap();
        // Right after creation the reference is created_at (updated_at is still -1).
        let fresh = run(&[created(at(5), true)]);
        assert_rejected(
            &fresh,
            enter(at(4), A),
            LifecycleError::OutOfOrder {
                at_ms: at(4),
                last_ms: at(5),
            },
        );
    }

    #[test]
    fn agent_message_from_a_non_agent_is_rejected() {
        let t = open_ticket_with_agent();
        let expected = LifecycleError::NotAnAgentOfTicket { agent_id: B.into() };
        assert_rejected(&t, agent_says(at(30), B), expected.clone());
        assert_rejected(&t, leave(at(30), B), expected);
    }

    #[test]
    fn human_request_outside_the_bot_stage_is_rejected() {
        assert_rejected(
            &open_ticket_with_agent(),
            human(at(30)),
            LifecycleError::NotInBotStage,
        );
        let closed_bot = run(&[created(at(0), false), close(at(5), 50, None)]);
        assert_rejected(&closed_bot, human(at(30)), LifecycleError::Closed);
    }

    #[test]
    fn out_of_range_values_are_rejected() {
        let t = open_ticket_with_agent();
        assert_rejected(&t, rate(at(30), 0, None), LifecycleError::InvalidScore(0));
        assert_rejected(&t, rate(at(30), 4, None), LifecycleError::InvalidScore(4));
        assert_rejected(
            &t,
            system(at(30), EventKind::SolvedSet { solve: 3 }),
            LifecycleError::InvalidSolve(3),
        );
        let stage = system(at(30), EventKind::StageChanged { ticket_type: 0 });
        assert_rejected(&t, stage, LifecycleError::InvalidStage(0));
        let channel = system(at(30), EventKind::ChannelSet { channel: -1 });
        assert_rejected(&t, channel, LifecycleError::InvalidChannel(-1));

        let empty = empty_ticket("1", "h");
        let bad_created = EventKind::Created {
            guest_id: GUEST.into(),
            channel: -2,
            human_service: false,
        };
        assert_rejected(
            &empty,
            system(at(0), bad_created),
            LifecycleError::InvalidChannel(-2),
        );
        let no_status = Ticket {
            status: 0,
            ..seed_snapshot()
        };
        let import = system(
            at(0),
            EventKind::Imported {
                snapshot: Box::new(ImportedTicket::from(&no_status)),
            },
        );
        assert_rejected(&empty, import, LifecycleError::InvalidStatus(0));
        let no_stage = Ticket {
            ticket_type: 3,
            ..seed_snapshot()
        };
        let import = system(
            at(0),
            EventKind::Imported {
                snapshot: Box::new(ImportedTicket::from(&no_stage)),
            },
        );
        assert_rejected(&empty, import, LifecycleError::InvalidStage(3));
    }

    #[test]
    fn project_fails_with_the_first_invalid_event_and_metrics_skip_it() {
        let log = [
            created(at(0), true),
            enter(at(10), A),
            reopen(at(20)),
            close(at(30), 51, Some(A)),
        ];
        assert_eq!(project("1", "h", &log), Err(LifecycleError::NotClosed));
        let valid = [log[0].clone(), log[1].clone(), log[3].clone()];
        assert_eq!(metrics(&log), metrics(&valid));
    }

    #[test]
    fn error_messages_are_readable() {
        assert_eq!(
            LifecycleError::Closed.to_string(),
            "the ticket is closed (reopen it first)"
        );
        assert_eq!(
            LifecycleError::NotAnAgentOfTicket {
                agent_id: "ou_x".into()
            }
            .to_string(),
            "ou_x is not an agent of this ticket"
        );
        assert_eq!(
            LifecycleError::InvalidStatus(51).to_string(),
            "invalid status 51: open statuses are 1 to 5, a close uses 50, 51 or 52"
        );
        let boxed: Box<dyn std::error::Error> = Box::new(LifecycleError::NotCreated);
        assert_eq!(boxed.to_string(), "the ticket has not been created");
    }

    // ---- properties over random valid logs ---------------------------------------------------

    const POOL: [&str; 3] = ["ou_p0", "ou_p1", "ou_p2"];

    #[derive(Debug, Clone)]
    enum Step {
        GuestSays,
        BotSays,
        AgentSays(usize),
        Human,
        Enter(usize),
        Leave(usize),
        Status(i64),
        Close(i64),
        Reopen,
        Rate(i64),
        Tag(u8),
        Solve(i64),
        Stage(i64),
    }

    fn step() -> impl Strategy<Value = Step> {
        let agent = 0..POOL.len();
        prop_oneof![
            2 => Just(Step::GuestSays),
            1 => Just(Step::BotSays),
            4 => agent.clone().prop_map(Step::AgentSays),
            1 => Just(Step::Human),
            3 => agent.clone().prop_map(Step::Enter),
            1 => agent.prop_map(Step::Leave),
            3 => (0i64..=6).prop_map(Step::Status),
            2 => (49i64..=52).prop_map(Step::Close),
            2 => Just(Step::Reopen),
            1 => (0i64..=4).prop_map(Step::Rate),
            1 => (0u8..4).prop_map(Step::Tag),
            1 => (0i64..=3).prop_map(Step::Solve),
            1 => (0i64..=3).prop_map(Step::Stage),
        ]
    }

    fn step_event(ms: i64, step: &Step) -> TicketEvent {
        match *step {
            Step::GuestSays => guest_says(ms),
            Step::BotSays => bot_says(ms),
            Step::AgentSays(i) => agent_says(ms, POOL[i]),
            Step::Human => human(ms),
            Step::Enter(i) => enter(ms, POOL[i]),
            Step::Leave(i) => leave(ms, POOL[i]),
            Step::Status(s) => status(ms, s),
            Step::Close(s) => close(ms, s, Some(GUEST)),
            Step::Reopen => reopen(ms),
            Step::Rate(score) => rate(ms, score, None),
            Step::Tag(n) => system(
                ms,
                EventKind::Tagged {
                    tags: vec![(n.to_string(), format!("tag{n}"))],
                },
            ),
            Step::Solve(solve) => system(ms, EventKind::SolvedSet { solve }),
            Step::Stage(ticket_type) => system(ms, EventKind::StageChanged { ticket_type }),
        }
    }

    /// Gaps (ms, a few negative to exercise `OutOfOrder`) and steps, before filtering.
    fn raw_log() -> impl Strategy<Value = (bool, Vec<(i64, Step)>)> {
        (
            any::<bool>(),
            prop::collection::vec((-2_000i64..=600_000, step()), 0..60),
        )
    }

    /// Keep the steps `apply` accepts; rejected ones must leave the ticket unchanged.
    fn valid_log(human_service: bool, steps: &[(i64, Step)]) -> Vec<TicketEvent> {
        let mut ticket = empty_ticket("1", "h");
        let first = created(T0, human_service);
        apply(&mut ticket, &first).unwrap();
        let mut log = vec![first];
        let mut now = T0;
        for (gap, step) in steps {
            let event = step_event(now + gap, step);
            let before = ticket.clone();
            match apply(&mut ticket, &event) {
                Ok(()) => {
                    now = event.at_ms;
                    log.push(event);
                }
                Err(e) => assert_eq!(ticket, before, "rejected with {e} but changed"),
            }
        }
        log
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn durations_are_consistent((human_service, steps) in raw_log()) {
            let log = valid_log(human_service, &steps);
            let m = metrics(&log).expect("starts with Created");
            prop_assert!(m.agent_service_duration >= 0.0);
            for d in [m.agent_first_response_duration, m.bot_service_duration, m.agent_resolution_time,
                      m.actual_processing_time, m.agent_entry_time, m.agent_first_response_time,
                      m.agent_last_response_time] {
                prop_assert!(d >= 0);
            }
            prop_assert!(m.actual_processing_time <= m.agent_resolution_time);
            if m.agent_first_response_time != 0 {
                prop_assert!(m.agent_first_response_time >= m.agent_entry_time);
                prop_assert!(m.agent_first_response_time <= m.agent_last_response_time);
            }
            if m.agent_entry_time == 0 {
                prop_assert_eq!(m, NO_METRICS);
            }
            let ticket = project("1", "h", &log).unwrap();
            if !is_closed(&ticket) {
                prop_assert_eq!((m.agent_resolution_time, m.actual_processing_time), (0, 0));
            }
        }

        #[test]
        fn project_is_a_deterministic_fold((human_service, steps) in raw_log()) {
            let log = valid_log(human_service, &steps);
            let projected = project("1", "h", &log).unwrap();
            prop_assert_eq!(&project("1", "h", &log).unwrap(), &projected);

            let mut folded = empty_ticket("1", "h");
            for event in &log {
                apply(&mut folded, event).unwrap();
            }
            prop_assert_eq!(without_metrics(&folded), without_metrics(&projected));
            write_metrics(&mut folded, &metrics(&log).unwrap());
            prop_assert_eq!(folded, projected);
        }

        /// A replay stopped anywhere (its state stored as JSON, as the store keeps it) and
        /// resumed with the rest, in as many pieces as it likes, ends where one pass ends:
        /// created and imported tickets, reopens, pending spans, reassignments.
        #[test]
        fn incremental_equals_replay(
            (human_service, steps) in raw_log(),
            imported in any::<bool>(),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        ) {
            let mut log = valid_log(human_service, &steps);
            if imported {
                let snapshot = project("1", "h", &log[..1]).unwrap();
                log[0] = system(T0, EventKind::Imported { snapshot: Box::new(ImportedTicket::from(&snapshot)) });
            }
            let (whole, whole_state) = replay("1", "h", &log).unwrap().finish();
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(log.len() + 1)).collect();
            cuts.sort_unstable();
            cuts.push(log.len());
            let (mut ticket, mut state) = Replay::new("1", "h").finish();
            let mut from = 0;
            for cut in cuts {
                let stored: ReplayState = serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
                let mut resumed = Replay::resume(ticket, stored);
                for event in &log[from..cut] {
                    resumed.step(event).unwrap();
                }
                (ticket, state) = resumed.finish();
                from = cut;
            }
            prop_assert_eq!(&ticket, &whole);
            prop_assert_eq!(&state, &whole_state);
            prop_assert_eq!(state.clock.is_none(), imported);
        }

        #[test]
        fn prefix_then_rest_equals_whole(
            (human_service, steps) in raw_log(),
            split in any::<prop::sample::Index>(),
        ) {
            let log = valid_log(human_service, &steps);
            let split = 1 + split.index(log.len());
            let mut resumed = project("1", "h", &log[..split]).unwrap();
            for event in &log[split..] {
                apply(&mut resumed, event).unwrap();
            }
            let whole = project("1", "h", &log).unwrap();
            prop_assert_eq!(without_metrics(&resumed), without_metrics(&whole));
        }
    }
    #[test]
    fn paused_spans_are_the_pending_and_reopened_gaps() {
        let events = vec![
            created(at(0), false),
            enter(at(10), A),
            status(at(20), 4),
            status(at(50), 2),
            close(at(60), 51, Some(A)),
            reopen(at(90)),
            status(at(100), 4),
        ];
        let replay = replay("1", "1", &events).unwrap();
        assert_eq!(
            replay.paused_spans(at(130)),
            vec![(at(20), at(50)), (at(60), at(90)), (at(100), at(130))]
        );
        let imported = Replay::new("1", "1");
        assert!(imported.paused_spans(at(130)).is_empty());
    }
}
