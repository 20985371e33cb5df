//! Ticket routing: which agent a ticket that asks for a human goes to, and when. Pure: the
//! service loads agents, skills and the queue, asks [`drain`], and applies its answer.
//!
//! # Schedules ([`parse_schedule`], [`on_duty`])
//!
//! - An entry is `weekday` + `"HH:MM"` start and end. `weekday` 1–7 is Monday–Sunday, 9 every
//!   day, 10 Monday–Friday, 11 Saturday and Sunday; other values are refused. Times run from
//!   `00:00` to `24:00` (Feishu's examples end days at `24:00`); minutes 00–59; start before end.
//!   An entry covers `[start, end)` of each of its days.
//! - Two entries of one agent's schedule that share a day and whose times intersect overlap:
//!   the schedule is refused ([`RoutingError::Overlap`]). Touching entries (`09:00–12:00` and
//!   `12:00–18:00`) do not overlap.
//! - Time is UTC: larkdesk's helpdesks have no timezone setting (Feishu's API has none either).
//! - An agent is on duty at a moment some entry covers; an empty schedule is never on duty.
//!
//! # Status shown ([`shown_status`])
//!
//! 4 when the agent's schedule was deleted (removed), else 2 when the agent set offline, else
//! 1 (online) on duty and 3 (off duty) outside the schedule.
//!
//! # Skill rules ([`RULES`], [`rule_holds`])
//!
//! A rule compares a fact of the ticket (the left side, a list of texts; empty when larkdesk
//! does not know the fact) with the rule's operand (the right side: the texts of the operand's
//! JSON — an object's `id` when it has one, else every string or number in it; operand text
//! that is not JSON is one value). Operators: 2 left ≥ right and 3 left ≤ right (numbers; false
//! when either side is not a number), 5 some left value is one of the right ones, 6 none is (5
//! and 6 are "is any of" / "is none of" on one value; with a list they read as 8 and 7),
//! 7 no left value is a right one, 8 some left value is a right one. A rule's operator must be
//! one its catalogue entry offers ([`check_rule`]).
//!
//! Facts larkdesk knows: 3 city, 11 user (the guest's open_id), 12 department (the guest's
//! directory profile), 9 source (`"1"`: tickets come from the server side). Language (10), FAQ
//! categories (14–16) and user level (17) are unknown (empty) until tickets carry them.
//!
//! # Who gets a ticket ([`eligible`], [`pick`], [`drain`])
//!
//! - A skill matches a ticket when every one of its rules holds; a skill without rules (the
//!   default skill) matches every ticket.
//! - An agent is eligible when not removed, online (status 1 as set), on duty, and either has
//!   no skill at all (agents without skills take any ticket) or has a skill that matches.
//! - Of the eligible agents, the one routed to least recently gets the ticket (never before
//!   first); ties go to the earlier agent in roster order (the order their schedules were
//!   first set).
//! - The queue drains oldest first. A ticket no agent is eligible for stays queued and does
//!   not hold up the tickets behind it. Each assignment counts as the agent's latest, so one
//!   drain spreads tickets over the eligible agents.

use crate::status::TicketStatus;

/// Why a schedule or rule is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    #[error("weekday must be 1-7, 9, 10 or 11, not {0}")]
    Weekday(i64),
    #[error("{0:?} is not a time between 00:00 and 24:00")]
    Time(String),
    #[error("start_time {0} must be before end_time {1}")]
    Empty(String, String),
    #[error("schedule entries overlap: {0}")]
    Overlap(String),
    #[error("unknown skill rule {0:?}")]
    UnknownRule(String),
    #[error("skill rule {0} does not offer operator {1}")]
    Operator(String, i64),
}

/// An agent's status as the agent sets it (`PATCH /agents/:agent_id`).
pub const ONLINE: i64 = 1;
pub const OFFLINE: i64 = 2;
/// Status shown outside the schedule, and for a removed agent.
pub const OFF_DUTY: i64 = 3;
pub const REMOVED: i64 = 4;

/// One schedule entry, parsed: days as a bit set (bit 1 Monday … bit 7 Sunday) and minutes of
/// the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    days: u8,
    start: u16,
    end: u16,
}

fn days(weekday: i64) -> Option<u8> {
    Some(match weekday {
        1..=7 => 1 << weekday,
        9 => 0b1111_1110,
        10 => 0b0011_1110,
        11 => 0b1100_0000,
        _ => return None,
    })
}

fn minutes(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

impl Slot {
    pub fn parse(weekday: i64, start: &str, end: &str) -> Result<Self, RoutingError> {
        let days = days(weekday).ok_or(RoutingError::Weekday(weekday))?;
        let s = minutes(start).ok_or_else(|| RoutingError::Time(start.to_owned()))?;
        let e = minutes(end).ok_or_else(|| RoutingError::Time(end.to_owned()))?;
        if s >= e {
            return Err(RoutingError::Empty(start.to_owned(), end.to_owned()));
        }
        Ok(Self {
            days,
            start: s,
            end: e,
        })
    }

    fn overlaps(&self, other: &Slot) -> bool {
        self.days & other.days != 0 && self.start < other.end && other.start < self.end
    }
}

/// Parse a schedule's entries `(weekday, start, end)`, refusing bad and overlapping ones.
pub fn parse_schedule<'a>(
    entries: impl IntoIterator<Item = (i64, &'a str, &'a str)>,
) -> Result<Vec<Slot>, RoutingError> {
    let mut slots: Vec<(Slot, String)> = Vec::new();
    for (weekday, start, end) in entries {
        let slot = Slot::parse(weekday, start, end)?;
        let label = format!("weekday {weekday} {start}-{end}");
        if let Some((_, other)) = slots.iter().find(|(s, _)| s.overlaps(&slot)) {
            return Err(RoutingError::Overlap(format!("{other} and {label}")));
        }
        slots.push((slot, label));
    }
    Ok(slots.into_iter().map(|(s, _)| s).collect())
}

/// ISO weekday (1 Monday … 7 Sunday) and minute of the day of a UTC instant.
pub fn weekday_minute(at_ms: i64) -> (u8, u16) {
    let day = at_ms.div_euclid(86_400_000);
    // 1970-01-01 was a Thursday (4).
    let weekday = (day + 3).rem_euclid(7) as u8 + 1;
    let minute = (at_ms.rem_euclid(86_400_000) / 60_000) as u16;
    (weekday, minute)
}

pub fn on_duty(slots: &[Slot], at_ms: i64) -> bool {
    let (weekday, minute) = weekday_minute(at_ms);
    slots
        .iter()
        .any(|s| s.days & (1 << weekday) != 0 && s.start <= minute && minute < s.end)
}

pub fn shown_status(removed: bool, status: i64, on_duty: bool) -> i64 {
    if removed {
        REMOVED
    } else if status == OFFLINE {
        OFFLINE
    } else if on_duty {
        ONLINE
    } else {
        OFF_DUTY
    }
}

/// A rule of the catalogue (`GET /agent_skill_rules`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleSpec {
    pub id: &'static str,
    pub display_name: &'static str,
    /// 1 knowledge base, 2 ticket info, 3 the user's Feishu profile.
    pub category: i64,
    pub operator_options: &'static [i64],
}

/// The rules Feishu offers, with the operators each allows.
pub const RULES: &[RuleSpec] = &[
    RuleSpec {
        id: "3",
        display_name: "城市",
        category: 3,
        operator_options: &[5, 6],
    },
    RuleSpec {
        id: "9",
        display_name: "来源",
        category: 2,
        operator_options: &[5, 6],
    },
    RuleSpec {
        id: "10",
        display_name: "语言",
        category: 2,
        operator_options: &[5, 6],
    },
    RuleSpec {
        id: "11",
        display_name: "姓名/邮箱",
        category: 3,
        operator_options: &[5, 6],
    },
    RuleSpec {
        id: "12",
        display_name: "部门",
        category: 3,
        operator_options: &[7, 8],
    },
    RuleSpec {
        id: "14",
        display_name: "中文知识库分类",
        category: 1,
        operator_options: &[7, 8],
    },
    RuleSpec {
        id: "15",
        display_name: "英文知识库分类",
        category: 1,
        operator_options: &[7, 8],
    },
    RuleSpec {
        id: "16",
        display_name: "日文知识库分类",
        category: 1,
        operator_options: &[7, 8],
    },
    RuleSpec {
        id: "17",
        display_name: "用户等级",
        category: 3,
        operator_options: &[2, 3],
    },
];

pub fn rule_spec(id: &str) -> Option<&'static RuleSpec> {
    RULES.iter().find(|r| r.id == id)
}

/// A rule's id must be in the catalogue and its operator one the rule offers.
pub fn check_rule(id: &str, operator: i64) -> Result<&'static RuleSpec, RoutingError> {
    let spec = rule_spec(id).ok_or_else(|| RoutingError::UnknownRule(id.to_owned()))?;
    if !spec.operator_options.contains(&operator) {
        return Err(RoutingError::Operator(id.to_owned(), operator));
    }
    Ok(spec)
}

/// A rule of a skill, ready to evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: String,
    pub operator: i64,
    /// The right side: [`operand_values`] of the operand.
    pub values: Vec<String>,
}

/// The right-side values of an operand's text (see the module docs).
pub fn operand_values(operand: &str) -> Vec<String> {
    fn collect(v: &serde_json::Value, out: &mut Vec<String>) {
        use serde_json::Value;
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Number(n) => out.push(n.to_string()),
            Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
            Value::Object(map) => match map.get("id") {
                Some(id @ (Value::String(_) | Value::Number(_))) => collect(id, out),
                _ => map.values().for_each(|i| collect(i, out)),
            },
            Value::Null | Value::Bool(_) => {}
        }
    }
    let mut out = Vec::new();
    match serde_json::from_str::<serde_json::Value>(operand) {
        Ok(v) => collect(&v, &mut out),
        Err(_) if !operand.is_empty() => out.push(operand.to_owned()),
        Err(_) => {}
    }
    out
}

/// What routing knows about a ticket: the values of its facts by rule id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub city: String,
    pub user_id: String,
    pub department: String,
}

impl Facts {
    fn left(&self, rule_id: &str) -> Vec<&str> {
        let v: &str = match rule_id {
            "3" => &self.city,
            "9" => "1",
            "11" => &self.user_id,
            "12" => &self.department,
            _ => "",
        };
        if v.is_empty() { Vec::new() } else { vec![v] }
    }
}

pub fn rule_holds(rule: &Rule, facts: &Facts) -> bool {
    let left = facts.left(&rule.id);
    let any = left.iter().any(|l| rule.values.iter().any(|r| r == l));
    let number = |s: &str| s.trim().parse::<f64>().ok();
    let compare = |ok: fn(f64, f64) -> bool| match (
        left.first().and_then(|l| number(l)),
        rule.values.first().and_then(|r| number(r)),
    ) {
        (Some(l), Some(r)) => ok(l, r),
        _ => false,
    };
    match rule.operator {
        2 => compare(|l, r| l >= r),
        3 => compare(|l, r| l <= r),
        5 | 8 => any,
        6 | 7 => !any,
        _ => false,
    }
}

/// A skill matches when all of its rules hold (a skill without rules always matches).
pub fn skill_matches(rules: &[Rule], facts: &Facts) -> bool {
    rules.iter().all(|r| rule_holds(r, facts))
}

/// An agent as routing sees it. The roster is a slice of these in roster order.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub agent_id: String,
    pub removed: bool,
    /// As the agent set it: [`ONLINE`] or [`OFFLINE`].
    pub status: i64,
    pub slots: Vec<Slot>,
    /// The rules of each of the agent's skills.
    pub skills: Vec<Vec<Rule>>,
    /// When routing last gave this agent a ticket (ms; 0 never).
    pub last_routed_at: i64,
}

pub fn eligible(c: &Candidate, facts: &Facts, at_ms: i64) -> bool {
    !c.removed
        && c.status == ONLINE
        && on_duty(&c.slots, at_ms)
        && (c.skills.is_empty() || c.skills.iter().any(|s| skill_matches(s, facts)))
}

/// The index of the agent a ticket goes to now, if any.
pub fn pick(roster: &[Candidate], facts: &Facts, at_ms: i64) -> Option<usize> {
    roster
        .iter()
        .enumerate()
        .filter(|(_, c)| eligible(c, facts, at_ms))
        .min_by_key(|(i, c)| (c.last_routed_at, *i))
        .map(|(i, _)| i)
}

/// A queued ticket: whether it still waits for an agent, and its facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub status: i64,
    pub has_agents: bool,
    pub facts: Facts,
}

impl Queued {
    /// Still waiting: queued (status 3) and no agent has entered.
    pub fn waiting(&self) -> bool {
        self.status == TicketStatus::Queued.code() && !self.has_agents
    }
}

/// What to do with each queued ticket, oldest first: `Some(roster index)` to assign, `None`
/// to leave it queued. Tickets no longer waiting get `None` too (the caller drops them from the
/// queue). `roster`'s `last_routed_at` is updated with each assignment.
pub fn drain(queue: &[Queued], roster: &mut [Candidate], at_ms: i64) -> Vec<Option<usize>> {
    queue
        .iter()
        .map(|q| {
            if !q.waiting() {
                return None;
            }
            let chosen = pick(roster, &q.facts, at_ms)?;
            // Strictly later than any earlier assignment of this drain, even at the same ms.
            let latest = roster.iter().map(|c| c.last_routed_at).max().unwrap_or(0);
            roster[chosen].last_routed_at = at_ms.max(latest + 1);
            Some(chosen)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Monday 2024-01-01 00:00 UTC.
    const MONDAY: i64 = 1_704_067_200_000;

    fn at(day: i64, hh: i64, mm: i64) -> i64 {
        MONDAY + day * 86_400_000 + hh * 3_600_000 + mm * 60_000
    }

    /// A schedule entry as the wire gives it: weekday, start, end.
    type Entry<'a> = (i64, &'a str, &'a str);

    fn sched(entries: &[Entry<'_>]) -> Vec<Slot> {
        parse_schedule(entries.iter().copied()).unwrap()
    }

    #[test]
    fn weekday_and_minute_of_utc_instants() {
        assert_eq!(weekday_minute(0), (4, 0)); // Thursday 1970-01-01
        assert_eq!(weekday_minute(MONDAY), (1, 0));
        assert_eq!(weekday_minute(at(6, 23, 59)), (7, 1439));
        assert_eq!(weekday_minute(-1), (3, 1439)); // the last minute of Wednesday 1969-12-31
    }

    #[test]
    fn schedule_entries_are_validated() {
        let table: &[(Entry<'_>, Option<RoutingError>)] = &[
            ((1, "09:00", "18:00"), None),
            ((9, "00:00", "24:00"), None),
            ((11, "10:00", "10:01"), None),
            ((8, "09:00", "18:00"), Some(RoutingError::Weekday(8))),
            ((0, "09:00", "18:00"), Some(RoutingError::Weekday(0))),
            ((1, "9:00", "18:00"), Some(RoutingError::Time("9:00".into()))),
            ((1, "09:60", "18:00"), Some(RoutingError::Time("09:60".into()))),
            ((1, "09:00", "24:01"), Some(RoutingError::Time("24:01".into()))),
            ((1, "09:00", "25:00"), Some(RoutingError::Time("25:00".into()))),
            (
                (1, "18:00", "09:00"),
                Some(RoutingError::Empty("18:00".into(), "09:00".into())),
            ),
            (
                (1, "09:00", "09:00"),
                Some(RoutingError::Empty("09:00".into(), "09:00".into())),
            ),
        ];
        for ((w, s, e), want) in table {
            assert_eq!(Slot::parse(*w, s, e).err(), *want, "{w} {s} {e}");
        }
    }

    #[test]
    fn overlapping_entries_are_refused_touching_ones_are_not() {
        let table: &[(&[Entry<'_>], bool)] = &[
            (&[(1, "09:00", "12:00"), (1, "12:00", "18:00")], true),
            (&[(1, "09:00", "12:00"), (1, "11:59", "18:00")], false),
            (&[(10, "09:00", "18:00"), (3, "17:00", "20:00")], false),
            (&[(10, "09:00", "18:00"), (6, "09:00", "18:00")], true),
            (&[(9, "00:00", "24:00"), (11, "10:00", "11:00")], false),
            (&[(11, "00:00", "24:00"), (10, "00:00", "24:00")], true),
            (&[(2, "08:00", "09:00"), (2, "08:30", "08:45")], false),
        ];
        for (entries, ok) in table {
            let got = parse_schedule(entries.iter().copied());
            assert_eq!(got.is_ok(), *ok, "{entries:?}: {got:?}");
            if !ok {
                assert!(matches!(got, Err(RoutingError::Overlap(_))));
            }
        }
    }

    #[test]
    fn on_duty_within_start_inclusive_end_exclusive() {
        let weekdays = sched(&[(10, "09:00", "18:00")]);
        let table = [
            (at(0, 9, 0), true),
            (at(0, 8, 59), false),
            (at(0, 17, 59), true),
            (at(0, 18, 0), false),
            (at(4, 12, 0), true),  // Friday
            (at(5, 12, 0), false), // Saturday
            (at(6, 12, 0), false), // Sunday
        ];
        for (t, want) in table {
            assert_eq!(on_duty(&weekdays, t), want, "{:?}", weekday_minute(t));
        }
        let all_day = sched(&[(9, "00:00", "24:00")]);
        assert!(on_duty(&all_day, at(6, 23, 59)));
        assert!(on_duty(&all_day, at(3, 0, 0)));
        assert!(!on_duty(&[], at(0, 12, 0)));
    }

    #[test]
    fn shown_status_table() {
        let table = [
            ((true, ONLINE, true), REMOVED),
            ((false, OFFLINE, true), OFFLINE),
            ((false, OFFLINE, false), OFFLINE),
            ((false, ONLINE, true), ONLINE),
            ((false, ONLINE, false), OFF_DUTY),
        ];
        for ((removed, status, duty), want) in table {
            assert_eq!(shown_status(removed, status, duty), want);
        }
    }

    #[test]
    fn rules_must_be_in_the_catalogue_with_an_offered_operator() {
        assert!(check_rule("3", 5).is_ok());
        assert!(check_rule("12", 8).is_ok());
        assert_eq!(check_rule("99", 5), Err(RoutingError::UnknownRule("99".into())));
        assert_eq!(check_rule("3", 8), Err(RoutingError::Operator("3".into(), 8)));
        assert_eq!(check_rule("17", 5), Err(RoutingError::Operator("17".into(), 5)));
    }

    #[test]
    fn operand_values_of_texts_lists_and_objects() {
        let table: &[(&str, &[&str])] = &[
            ("", &[]),
            ("Beijing", &["Beijing"]),
            (r#"["Beijing","Shanghai"]"#, &["Beijing", "Shanghai"]),
            (
                r#"{"selected_departments":[{"id":"od_1","name":"IT"},{"id":"od_2","name":"HR"}]}"#,
                &["od_1", "od_2"],
            ),
            ("7", &["7"]),
            (r#"{"level": 3}"#, &["3"]),
        ];
        for (operand, want) in table {
            assert_eq!(operand_values(operand), *want, "{operand}");
        }
    }

    fn rule(id: &str, operator: i64, values: &[&str]) -> Rule {
        Rule {
            id: id.into(),
            operator,
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    #[test]
    fn rules_hold_per_operator() {
        let facts = Facts {
            city: "Beijing".into(),
            user_id: "ou_g".into(),
            department: "od_1".into(),
        };
        let table = [
            (rule("3", 5, &["Beijing", "Shanghai"]), true),
            (rule("3", 5, &["Shanghai"]), false),
            (rule("3", 6, &["Shanghai"]), true),
            (rule("3", 6, &["Beijing"]), false),
            (rule("12", 8, &["od_1", "od_2"]), true),
            (rule("12", 7, &["od_1"]), false),
            (rule("12", 7, &["od_3"]), true),
            (rule("11", 5, &["ou_g"]), true),
            (rule("9", 5, &["1"]), true),
            (rule("9", 5, &["0"]), false),
            // Unknown facts: no value is any of the operand, so "none of" holds.
            (rule("10", 5, &["zh_cn"]), false),
            (rule("10", 6, &["zh_cn"]), true),
            (rule("17", 2, &["3"]), false),
            (rule("3", 99, &["Beijing"]), false),
        ];
        for (r, want) in table {
            assert_eq!(rule_holds(&r, &facts), want, "{r:?}");
        }
        assert!(skill_matches(&[], &facts));
        assert!(!skill_matches(
            &[rule("3", 5, &["Beijing"]), rule("12", 8, &["od_9"])],
            &facts
        ));
    }

    fn agent(id: &str, skills: Vec<Vec<Rule>>) -> Candidate {
        Candidate {
            agent_id: id.into(),
            removed: false,
            status: ONLINE,
            slots: sched(&[(10, "09:00", "18:00")]),
            skills,
            last_routed_at: 0,
        }
    }

    fn waiting(city: &str) -> Queued {
        Queued {
            status: 3,
            has_agents: false,
            facts: Facts {
                city: city.into(),
                ..Facts::default()
            },
        }
    }

    #[test]
    fn eligibility_needs_online_on_duty_and_a_matching_skill() {
        let facts = waiting("Beijing").facts;
        let noon = at(0, 12, 0);
        let beijing = vec![rule("3", 5, &["Beijing"])];
        let shanghai = vec![rule("3", 5, &["Shanghai"])];
        let base = agent("a", vec![]);
        let table = [
            (base.clone(), noon, true),
            (base.clone(), at(0, 20, 0), false),
            (
                Candidate {
                    status: OFFLINE,
                    ..base.clone()
                },
                noon,
                false,
            ),
            (
                Candidate {
                    removed: true,
                    ..base.clone()
                },
                noon,
                false,
            ),
            (agent("a", vec![shanghai.clone()]), noon, false),
            (agent("a", vec![shanghai, beijing]), noon, true),
            (agent("a", vec![vec![]]), noon, true),
        ];
        for (c, t, want) in table {
            assert_eq!(eligible(&c, &facts, t), want, "{c:?}");
        }
    }

    #[test]
    fn drain_assigns_oldest_first_spreads_and_skips_what_nobody_can_take() {
        let noon = at(0, 12, 0);
        let mut roster = vec![
            agent("a", vec![vec![rule("3", 5, &["Beijing"])]]),
            agent("b", vec![]),
        ];
        let mut closed = waiting("Beijing");
        closed.status = 51;
        let queue = [
            waiting("Beijing"),
            closed,
            waiting("Paris"),
            waiting("Beijing"),
            waiting("Paris"),
        ];
        let got = drain(&queue, &mut roster, noon);
        // a (first in roster) takes the first Beijing ticket; only b takes Paris; a was routed
        // to before b, so a takes the next Beijing ticket; the last Paris one goes to b.
        assert_eq!(got, vec![Some(0), None, Some(1), Some(0), Some(1)]);
        // Off duty: nothing moves.
        let mut roster2 = vec![agent("a", vec![])];
        assert_eq!(drain(&[waiting("x")], &mut roster2, at(5, 12, 0)), vec![None]);
    }

    proptest! {
        #[test]
        fn assignments_only_go_to_eligible_agents_and_spread(
            statuses in proptest::collection::vec(prop_oneof![Just(ONLINE), Just(OFFLINE)], 1..5),
            cities in proptest::collection::vec(prop_oneof![Just("Beijing"), Just("Paris")], 0..12),
            hour in 0i64..24,
            day in 0i64..7,
        ) {
            let t = at(day, hour, 30);
            let mut roster: Vec<Candidate> = statuses.iter().enumerate().map(|(i, s)| Candidate {
                status: *s,
                skills: if i % 2 == 0 { vec![] } else { vec![vec![rule("3", 5, &["Beijing"])]] },
                ..agent(&format!("a{i}"), vec![])
            }).collect();
            let before = roster.clone();
            let queue: Vec<Queued> = cities.iter().map(|c| waiting(c)).collect();
            let got = drain(&queue, &mut roster, t);
            prop_assert_eq!(got.len(), queue.len());
            let mut counts = vec![0usize; roster.len()];
            for (q, a) in queue.iter().zip(&got) {
                match a {
                    Some(i) => {
                        prop_assert!(eligible(&before[*i], &q.facts, t));
                        counts[*i] += 1;
                    }
                    None => prop_assert!(before.iter().all(|c| !eligible(c, &q.facts, t))),
                }
            }
            // Agents eligible for everything differ by at most one assignment.
            let open: Vec<usize> = (0..roster.len())
                .filter(|i| i % 2 == 0 && eligible(&before[*i], &Facts::default(), t))
                .map(|i| counts[i])
                .collect();
            if cities.iter().all(|c| *c == "Paris") && open.len() > 1 {
                prop_assert!(open.iter().max().unwrap() - open.iter().min().unwrap() <= 1);
            }
        }
    }
}
