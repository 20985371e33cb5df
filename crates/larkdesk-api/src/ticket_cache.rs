//! A bounded cache of rendered `GET /tickets/:id` bodies, so the hottest read skips the
//! database and JSON rendering; of `GET /tickets` totals, so paging through a filter does
//! not recount it (counting up to 10,000 matches is most of a list's cost at scale); and of
//! rendered `GET /tickets` pages, because a page of 20 tickets costs ~1 ms of reading and
//! rendering while dashboards and sync jobs ask for the same pages over and over.
//!
//! Consistency: every request that may write (any method but GET/HEAD) bumps a generation
//! counter when it finishes, and an entry is only served while the generation it was rendered
//! under is current, so an instance always reads its own writes, whatever code path wrote. A
//! read that raced a write is not cached. Writes made by other instances or by the CLI become
//! visible within the time-to-live (1 s by default; `--ticket-cache-ms 0` turns caching off).
//! The entry count is bounded, so memory does not grow with the number of tickets.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use larkdesk_store::TicketFilter;

/// Most cached bodies held at once (a ticket body is 1–3 KiB).
pub const MAX_ENTRIES: u64 = 10_000;
/// Most cached list totals held at once.
pub const MAX_TOTALS: u64 = 10_000;
/// Most bytes of rendered list pages held at once (a page of 20 tickets is ~20–60 KiB, one of
/// 200 up to ~600 KiB, so pages are bounded by size rather than count).
pub const MAX_PAGE_BYTES: u64 = 32 << 20;

/// A list page: the helpdesk's row id, the filter, the offset and the page size.
pub type PageKey = (i64, TicketFilter, i64, i64);

/// Keys are ids and filters, hashed on every request: foldhash instead of SipHash.
type Hasher = foldhash::fast::RandomState;
type Cache<K, V> = moka::sync::Cache<K, V, Hasher>;

#[derive(Clone)]
struct Entry<T> {
    generation: u64,
    value: T,
}

pub struct TicketCache {
    entries: Option<Cache<(i64, i64), Entry<Bytes>>>,
    totals: Option<Cache<(i64, TicketFilter), Entry<i64>>>,
    pages: Option<Cache<PageKey, Entry<Bytes>>>,
    generation: AtomicU64,
}

impl TicketCache {
    /// A cache whose entries live `ttl`; a zero `ttl` disables it.
    pub fn new(ttl: Duration) -> Self {
        fn cache<K, V>(capacity: u64, ttl: Duration) -> Option<Cache<K, V>>
        where
            K: std::hash::Hash + Eq + Send + Sync + 'static,
            V: Clone + Send + Sync + 'static,
        {
            (!ttl.is_zero()).then(|| {
                moka::sync::Cache::builder()
                    .max_capacity(capacity)
                    .time_to_live(ttl)
                    .build_with_hasher(Hasher::default())
            })
        }
        let pages = (!ttl.is_zero()).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(MAX_PAGE_BYTES)
                .weigher(|_: &PageKey, page: &Entry<Bytes>| {
                    u32::try_from(page.value.len()).unwrap_or(u32::MAX)
                })
                .time_to_live(ttl)
                .build_with_hasher(Hasher::default())
        });
        Self {
            entries: cache(MAX_ENTRIES, ttl),
            totals: cache(MAX_TOTALS, ttl),
            pages,
            generation: AtomicU64::new(0),
        }
    }

    /// The generation to render under; pass it back to [`TicketCache::put`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Called when a request that may have written finishes.
    pub fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub fn get(&self, helpdesk_row: i64, ticket_id: i64) -> Option<Bytes> {
        let entry = self.entries.as_ref()?.get(&(helpdesk_row, ticket_id))?;
        (entry.generation == self.generation()).then_some(entry.value)
    }

    /// Keep a body rendered under `generation`, unless a write finished since.
    pub fn put(&self, helpdesk_row: i64, ticket_id: i64, generation: u64, body: Bytes) {
        if let Some(entries) = &self.entries
            && generation == self.generation()
        {
            entries.insert(
                (helpdesk_row, ticket_id),
                Entry {
                    generation,
                    value: body,
                },
            );
        }
    }

    /// The total of `filter` in a helpdesk, when counted since the last write.
    pub fn total(&self, helpdesk_row: i64, filter: &TicketFilter) -> Option<i64> {
        let entry = self.totals.as_ref()?.get(&(helpdesk_row, filter.clone()))?;
        (entry.generation == self.generation()).then_some(entry.value)
    }

    /// Keep a total counted under `generation`, unless a write finished since.
    pub fn put_total(&self, helpdesk_row: i64, filter: &TicketFilter, generation: u64, total: i64) {
        if let Some(totals) = &self.totals
            && generation == self.generation()
        {
            totals.insert(
                (helpdesk_row, filter.clone()),
                Entry {
                    generation,
                    value: total,
                },
            );
        }
    }
}

impl TicketCache {
    /// A rendered list page, when rendered since the last write.
    pub fn page(&self, key: &PageKey) -> Option<Bytes> {
        let entry = self.pages.as_ref()?.get(key)?;
        (entry.generation == self.generation()).then_some(entry.value)
    }

    /// Keep a page rendered under `generation`, unless a write finished since.
    pub fn put_page(&self, key: PageKey, generation: u64, body: Bytes) {
        if let Some(pages) = &self.pages
            && generation == self.generation()
        {
            pages.insert(
                key,
                Entry {
                    generation,
                    value: body,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_invalidates_and_a_racing_read_is_not_kept() {
        let cache = TicketCache::new(Duration::from_secs(60));
        let g = cache.generation();
        cache.put(1, 2, g, Bytes::from_static(b"v1"));
        assert_eq!(cache.get(1, 2).as_deref(), Some(&b"v1"[..]));
        cache.bump();
        assert_eq!(cache.get(1, 2), None, "stale after a write");
        // A read rendered before the write finished must not be cached.
        cache.put(1, 2, g, Bytes::from_static(b"old"));
        assert_eq!(cache.get(1, 2), None);
        assert_eq!(cache.get(9, 2), None);
    }

    #[test]
    fn totals_follow_the_same_rules() {
        let cache = TicketCache::new(Duration::from_secs(60));
        let open = TicketFilter {
            status_list: vec![1],
            ..TicketFilter::default()
        };
        let g = cache.generation();
        cache.put_total(1, &open, g, 7);
        assert_eq!(cache.total(1, &open), Some(7));
        assert_eq!(cache.total(1, &TicketFilter::default()), None, "another filter");
        assert_eq!(cache.total(2, &open), None, "another helpdesk");
        cache.bump();
        assert_eq!(cache.total(1, &open), None, "stale after a write");
        cache.put_total(1, &open, g, 7);
        assert_eq!(
            cache.total(1, &open),
            None,
            "a count that raced a write is not kept"
        );
    }

    #[test]
    fn pages_follow_the_same_rules() {
        let cache = TicketCache::new(Duration::from_secs(60));
        let closed = TicketFilter {
            status_list: vec![50],
            ..TicketFilter::default()
        };
        let first = (1, closed.clone(), 0, 20);
        let g = cache.generation();
        cache.put_page(first.clone(), g, Bytes::from_static(b"p1"));
        assert_eq!(cache.page(&first).as_deref(), Some(&b"p1"[..]));
        assert_eq!(cache.page(&(1, closed.clone(), 20, 20)), None, "another page");
        assert_eq!(cache.page(&(1, closed.clone(), 0, 50)), None, "another page size");
        assert_eq!(cache.page(&(2, closed.clone(), 0, 20)), None, "another helpdesk");
        assert_eq!(
            cache.page(&(1, TicketFilter::default(), 0, 20)),
            None,
            "another filter"
        );
        cache.bump();
        assert_eq!(cache.page(&first), None, "stale after a write");
        cache.put_page(first.clone(), g, Bytes::from_static(b"old"));
        assert_eq!(cache.page(&first), None, "a page that raced a write is not kept");
    }

    #[test]
    fn pages_are_bounded_by_size() {
        let cache = TicketCache::new(Duration::from_secs(60));
        let big = Bytes::from(vec![b' '; 1 << 20]);
        let g = cache.generation();
        for offset in 0..100 {
            cache.put_page((1, TicketFilter::default(), offset, 20), g, big.clone());
        }
        let pages = cache.pages.as_ref().expect("enabled");
        pages.run_pending_tasks();
        assert!(
            pages.weighted_size() <= MAX_PAGE_BYTES,
            "{} bytes held",
            pages.weighted_size()
        );
        assert!(pages.entry_count() < 100);
    }

    #[test]
    fn zero_ttl_disables() {
        let cache = TicketCache::new(Duration::ZERO);
        cache.put(1, 2, cache.generation(), Bytes::from_static(b"v"));
        assert_eq!(cache.get(1, 2), None);
        cache.put_page(
            (1, TicketFilter::default(), 0, 20),
            cache.generation(),
            Bytes::from_static(b"p"),
        );
        assert_eq!(cache.page(&(1, TicketFilter::default(), 0, 20)), None);
    }
}
