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
//! Entry counts (pages: bytes) are bounded, so memory does not grow with the number of tickets.

use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use larkdesk_store::TicketFilter;
use quick_cache::{UnitWeighter, Weighter};

/// Most cached bodies held at once (a ticket body is 1–3 KiB).
pub const MAX_ENTRIES: u64 = 10_000;
/// Most cached list totals held at once.
pub const MAX_TOTALS: u64 = 10_000;
/// Most bytes of rendered list pages held at once (a page of 20 tickets is ~20–60 KiB, one of
/// 200 up to ~600 KiB, so pages are bounded by size rather than count).
pub const MAX_PAGE_BYTES: u64 = 32 << 20;

/// A list page: the helpdesk's row id, the filter, the offset and the page size.
pub type PageKey = (i64, TicketFilter, i64, i64);

#[derive(Clone)]
struct Entry<T> {
    generation: u64,
    expires: Instant,
    value: T,
}

/// Pages weigh their size in bytes.
#[derive(Clone)]
struct PageWeighter;

impl Weighter<PageKey, Entry<Bytes>> for PageWeighter {
    fn weight(&self, _: &PageKey, page: &Entry<Bytes>) -> u64 {
        page.value.len().max(1) as u64
    }
}

/// One bounded map of rendered values. quick_cache (CLOCK-Pro eviction, sharded locks) rather
/// than moka: a hit is a hash, a read lock and a clone, where moka's read bookkeeping took
/// ~600 instructions of every cached GET; the time-to-live is checked here on read. Keys are
/// ids and filters hashed on every request: foldhash instead of SipHash.
struct Layer<K, V, W = UnitWeighter> {
    map: quick_cache::sync::Cache<K, Entry<V>, W, foldhash::fast::RandomState>,
    ttl: Duration,
}

impl<K: Eq + Hash, V: Clone, W: Weighter<K, Entry<V>> + Clone> Layer<K, V, W> {
    /// `None` (caching off) for a zero `ttl`.
    fn new(items: u64, weight: u64, weighter: W, ttl: Duration) -> Option<Self> {
        (!ttl.is_zero()).then(|| Self {
            map: quick_cache::sync::Cache::with(
                items as usize,
                weight,
                weighter,
                Default::default(),
                Default::default(),
            ),
            ttl,
        })
    }

    fn get(&self, key: &K, generation: u64) -> Option<V> {
        let entry = self.map.get(key)?;
        (entry.generation == generation && Instant::now() < entry.expires).then_some(entry.value)
    }

    fn put(&self, key: K, generation: u64, value: V) {
        let expires = Instant::now() + self.ttl;
        self.map.insert(
            key,
            Entry {
                generation,
                expires,
                value,
            },
        );
    }
}

pub struct TicketCache {
    entries: Option<Layer<(i64, i64), Bytes>>,
    totals: Option<Layer<(i64, TicketFilter), i64>>,
    pages: Option<Layer<PageKey, Bytes, PageWeighter>>,
    generation: AtomicU64,
}

impl TicketCache {
    /// A cache whose entries live `ttl`; a zero `ttl` disables it.
    pub fn new(ttl: Duration) -> Self {
        Self {
            entries: Layer::new(MAX_ENTRIES, MAX_ENTRIES, UnitWeighter, ttl),
            totals: Layer::new(MAX_TOTALS, MAX_TOTALS, UnitWeighter, ttl),
            // ~30 KiB a page, for sizing the table.
            pages: Layer::new(MAX_PAGE_BYTES / (30 << 10), MAX_PAGE_BYTES, PageWeighter, ttl),
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

    /// Keep `value` rendered under `generation`, unless a write finished since.
    fn keep<K, V, W>(&self, layer: &Option<Layer<K, V, W>>, key: K, generation: u64, value: V)
    where
        K: Eq + Hash,
        V: Clone,
        W: Weighter<K, Entry<V>> + Clone,
    {
        if let Some(layer) = layer
            && generation == self.generation()
        {
            layer.put(key, generation, value);
        }
    }

    pub fn get(&self, helpdesk_row: i64, ticket_id: i64) -> Option<Bytes> {
        self.entries
            .as_ref()?
            .get(&(helpdesk_row, ticket_id), self.generation())
    }

    /// Keep a body rendered under `generation`, unless a write finished since.
    pub fn put(&self, helpdesk_row: i64, ticket_id: i64, generation: u64, body: Bytes) {
        self.keep(&self.entries, (helpdesk_row, ticket_id), generation, body);
    }

    /// The total of `filter` in a helpdesk, when counted since the last write.
    pub fn total(&self, helpdesk_row: i64, filter: &TicketFilter) -> Option<i64> {
        self.totals
            .as_ref()?
            .get(&(helpdesk_row, filter.clone()), self.generation())
    }

    /// Keep a total counted under `generation`, unless a write finished since.
    pub fn put_total(&self, helpdesk_row: i64, filter: &TicketFilter, generation: u64, total: i64) {
        self.keep(&self.totals, (helpdesk_row, filter.clone()), generation, total);
    }

    /// A rendered list page, when rendered since the last write.
    pub fn page(&self, key: &PageKey) -> Option<Bytes> {
        self.pages.as_ref()?.get(key, self.generation())
    }

    /// Keep a page rendered under `generation`, unless a write finished since.
    pub fn put_page(&self, key: PageKey, generation: u64, body: Bytes) {
        self.keep(&self.pages, key, generation, body);
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
        let pages = &cache.pages.as_ref().expect("enabled").map;
        assert!(pages.weight() <= MAX_PAGE_BYTES, "{} bytes held", pages.weight());
        assert!(pages.len() < 100);
        assert!(!pages.is_empty());
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let cache = TicketCache::new(Duration::from_millis(50));
        cache.put(1, 2, cache.generation(), Bytes::from_static(b"v"));
        assert!(cache.get(1, 2).is_some());
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(cache.get(1, 2), None, "expired");
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
