//! Directory profiles a write read before, kept for the next write that names the same people.
//!
//! Every change renders its ticket (`GET /tickets/:id`), and so reads the profiles of the
//! people the ticket names: a join of the tenant's row with the directory, its rows decoded
//! field by field, a seventh of a message post's work. The people of a ticket rarely change
//! and their profiles even more rarely, so a write keeps what it read here, and the next one
//! asks the database only for the tenant's directory version (one row by key).
//!
//! The rules:
//! - An entry is a profile and the directory version it was read at, in the statement that
//!   read that version. Every change to a stored profile bumps the version (a trigger, in the
//!   same transaction), so an entry whose version is still the tenant's holds the profile the
//!   directory holds.
//! - A write that finds every person it names at the current version uses the entries;
//!   otherwise it reads them all as before and keeps what it read.
//! - People the directory does not know are not kept: adding a person bumps nothing.
//! - A transaction that added people to the directory neither uses nor fills the cache, since it
//!   could roll back what it read; reset and restore empty it.
//! - At most [`MAX_ENTRIES`]; when full, it is emptied.

use std::collections::HashMap;
use std::sync::Mutex;

use larkdesk_domain::ids::TenantRowId;
use larkdesk_wire::ticket::TicketUser;

use crate::Profiles;

/// Entries kept at most.
pub(crate) const MAX_ENTRIES: usize = 100_000;

/// A person of a tenant's directory, by open_id.
type Person = (TenantRowId, String);
/// A profile and the directory version it was read at.
type Kept = (i64, TicketUser);

#[derive(Default)]
pub(crate) struct ProfileCache {
    entries: Mutex<HashMap<Person, Kept, foldhash::fast::RandomState>>,
}

impl ProfileCache {
    /// The profiles of all of `open_ids` if every one is kept at `directory_version`.
    pub fn get(&self, tenant: TenantRowId, directory_version: i64, open_ids: &[String]) -> Option<Profiles> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let mut people = HashMap::with_capacity(open_ids.len());
        for id in open_ids {
            match entries.get(&(tenant, id.clone())) {
                Some((version, user)) if *version == directory_version => {
                    people.insert(id.clone(), user.clone());
                }
                _ => return None,
            }
        }
        Some(Profiles {
            people,
            directory_version,
        })
    }

    /// Keep profiles read at their directory version.
    pub fn put(&self, tenant: TenantRowId, profiles: &Profiles) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() + profiles.people.len() > MAX_ENTRIES {
            entries.clear();
        }
        for (id, user) in &profiles.people {
            entries.insert((tenant, id.clone()), (profiles.directory_version, user.clone()));
        }
    }

    pub fn clear(&self) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, name: &str) -> TicketUser {
        TicketUser {
            id: id.to_owned(),
            name: name.to_owned(),
            ..TicketUser::default()
        }
    }

    fn profiles(version: i64, people: &[TicketUser]) -> Profiles {
        Profiles {
            people: people.iter().map(|u| (u.id.clone(), u.clone())).collect(),
            directory_version: version,
        }
    }

    #[test]
    fn a_hit_needs_every_person_at_the_current_version() {
        let cache = ProfileCache::default();
        let (t1, t2) = (TenantRowId(1), TenantRowId(2));
        let ids = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        cache.put(t1, &profiles(3, &[user("ou_a", "A"), user("ou_b", "B")]));

        let hit = cache.get(t1, 3, &ids(&["ou_a", "ou_b"])).expect("both kept at 3");
        assert_eq!(hit.directory_version, 3);
        assert_eq!(hit.people["ou_b"].name, "B");
        assert!(cache.get(t1, 3, &ids(&[])).is_some_and(|p| p.people.is_empty()));

        for (tenant, version, who, why) in [
            (t1, 4, &["ou_a"][..], "a profile changed since: the version moved"),
            (t1, 2, &["ou_a"][..], "an older version"),
            (t1, 3, &["ou_a", "ou_c"][..], "one person not kept"),
            (t2, 3, &["ou_a"][..], "another tenant's person"),
        ] {
            assert!(cache.get(tenant, version, &ids(who)).is_none(), "{why}");
        }

        // Read again at a newer version: the new profile replaces the old.
        cache.put(t1, &profiles(4, &[user("ou_a", "A2")]));
        assert_eq!(
            cache.get(t1, 4, &ids(&["ou_a"])).unwrap().people["ou_a"].name,
            "A2"
        );
        assert!(cache.get(t1, 3, &ids(&["ou_a"])).is_none());
    }

    #[test]
    fn a_full_cache_starts_over_and_clear_empties_it() {
        let cache = ProfileCache::default();
        let many: Vec<TicketUser> = (0..MAX_ENTRIES).map(|i| user(&format!("ou_{i}"), "x")).collect();
        cache.put(TenantRowId(1), &profiles(0, &many));
        assert_eq!(cache.len(), MAX_ENTRIES);
        cache.put(TenantRowId(1), &profiles(0, &[user("ou_new", "n")]));
        assert_eq!(cache.len(), 1, "emptied rather than grown past the bound");
        cache.clear();
        assert_eq!(cache.len(), 0);
    }
}
