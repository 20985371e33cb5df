//! API scopes, as granted to an app in the console (our admin surface).

pub const HELPDESK_ALL: &str = "helpdesk:all";
pub const HELPDESK_ALL_READONLY: &str = "helpdesk:all:readonly";
pub const HELPDESK_ACCESS: &str = "helpdesk:helpdesk:access";

/// Scopes a new custom app gets when none are named.
pub const DEFAULT_APP_SCOPES: &[&str] = &[HELPDESK_ALL, HELPDESK_ALL_READONLY, HELPDESK_ACCESS];

/// Does a granted scope list satisfy "any one of `required`"?
pub fn satisfies(granted: &[String], required: &[&str]) -> bool {
    required.iter().any(|r| granted.iter().any(|g| g == r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_one_required_scope_is_enough() {
        let granted = vec![HELPDESK_ALL.to_owned()];
        assert!(satisfies(&granted, &[HELPDESK_ALL_READONLY, HELPDESK_ALL]));
        assert!(!satisfies(&granted, &[HELPDESK_ALL_READONLY]));
        assert!(!satisfies(&[], &[HELPDESK_ALL]));
    }
}
