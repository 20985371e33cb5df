//! Ticket status and stage codes as the wire uses them.

/// `status`: 1 created, 2 in progress, 3 queued, 4 pending, 5 waiting for user,
/// 50 closed by bot, 51 closed by agent, 52 closed by user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketStatus {
    Created = 1,
    InProgress = 2,
    Queued = 3,
    Pending = 4,
    WaitingForUser = 5,
    ClosedByBot = 50,
    ClosedByAgent = 51,
    ClosedByUser = 52,
}

impl TicketStatus {
    pub fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            1 => Self::Created,
            2 => Self::InProgress,
            3 => Self::Queued,
            4 => Self::Pending,
            5 => Self::WaitingForUser,
            50 => Self::ClosedByBot,
            51 => Self::ClosedByAgent,
            52 => Self::ClosedByUser,
            _ => return None,
        })
    }

    pub fn code(self) -> i64 {
        self as i64
    }

    pub fn is_closed(self) -> bool {
        matches!(self, Self::ClosedByBot | Self::ClosedByAgent | Self::ClosedByUser)
    }
}

/// `ticket_type` (the stage): 1 bot, 2 human.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketStage {
    Bot = 1,
    Human = 2,
}

impl TicketStage {
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            1 => Some(Self::Bot),
            2 => Some(Self::Human),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in [1, 2, 3, 4, 5, 50, 51, 52] {
            assert_eq!(TicketStatus::from_code(code).unwrap().code(), code);
        }
        assert!(TicketStatus::from_code(6).is_none());
        assert!(TicketStatus::from_code(51).unwrap().is_closed());
        assert!(!TicketStatus::from_code(4).unwrap().is_closed());
    }
}
