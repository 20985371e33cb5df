//! A bounded cache of rendered `GET /tickets/:id` bodies, so the hottest read skips the
//! database and JSON rendering; of `GET /tickets` totals, so paging through a filter does
//! not recount it (counting up to 10,000 matches is most of a list's cost at scale); and of
//! rendered `GET /tickets` pages, because a page reads its 20 tickets' rows (and renders
//! them when their stored renders are stale) while dashboards and sync jobs ask for the same
//! pages over and over.
//!
//! Consistency: every request that may write (any method but GET/HEAD) bumps a generation
//! counter when it finishes, and an entry is only served while the generation it was rendered
//! under is current, so an instance always reads its own writes, whatever code path wrote. A
//! read that raced a write is not cached. One exception: the total of a filter that matches
//! tickets by what they were created with only (the unfiltered list, a creation-time range)
//! is kept across writes until the store adds or removes tickets (its ticket-set version,
//! bumped by the store itself after such a commit): under a stream of message posts a list
//! otherwise recounted up to 10,000 tickets each time, three quarters of its cost. Writes made
//! by other instances or by the CLI become visible within the time-to-live (1 s by default;
//! `--ticket-cache-ms 0` turns caching off).
//! Requests that miss the same ticket or page together render it once (see [`Memo`]).
//! Entry counts (pages: bytes) are bounded, so memory does not grow with the number of tickets.
//!
//! A ticket is cached from its second request in a short while, not its first (see
//! [`Doorkeeper`]): reads of random tickets, each asked for once, otherwise each paid for an
//! entry that no one read, and for the entry it pushed out (counted with `bench/cachesim.sh`:
//! 43.1k instructions and 49 simulated last-level cache misses a random GET before, 41.4k and 30
//! since; the cached GET unchanged). A ticket that has an entry, fresh or stale, is always
//! cached again, so its readers keep rendering it once between them.

use std::future::Future;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use larkdesk_store::TicketFilter;
use quick_cache::Weighter;

use crate::memo::Memo;

/// Most cached bodies held at once (a ticket body is 1–3 KiB).
pub const MAX_ENTRIES: usize = 10_000;
/// Tickets the [`Doorkeeper`] remembers having seen (a power of two; 4 bytes each).
const DOORKEEPER_SLOTS: usize = 1 << 14;
/// Most cached list totals held at once.
pub const MAX_TOTALS: usize = 10_000;
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

/// How often a cache served a request, and how often it had to render.
#[derive(Debug, Default)]
pub struct HitCounts {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
}

impl HitCounts {
    fn count(&self, missed: bool) {
        let counter = if missed { &self.misses } else { &self.hits };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Which tickets were asked for lately, by a fingerprint of each in a slot of its own (a
/// ticket whose slot another one took since is forgotten; two tickets that share a slot and a
/// fingerprint only make a ticket cached one request early). A remembered ticket is one asked
/// for at least once within about `DOORKEEPER_SLOTS` other tickets: 0.3 s of random GETs at
/// 50k a second, minutes at a few a second.
struct Doorkeeper {
    slots: Box<[AtomicU32]>,
    hasher: foldhash::fast::RandomState,
}

impl Doorkeeper {
    fn new() -> Self {
        Self {
            slots: (0..DOORKEEPER_SLOTS).map(|_| AtomicU32::new(0)).collect(),
            hasher: Default::default(),
        }
    }

    /// Whether `key` was asked for lately; it is remembered as asked for now, either way.
    fn seen_again(&self, key: &(i64, i64)) -> bool {
        let hash = self.hasher.hash_one(key);
        // Never 0, which an empty slot holds.
        let fingerprint = (hash >> 32) as u32 | 1;
        let slot = &self.slots[hash as usize & (DOORKEEPER_SLOTS - 1)];
        slot.swap(fingerprint, Ordering::Relaxed) == fingerprint
    }
}

pub struct TicketCache {
    /// `None` when caching is off.
    entries: Option<Memo<(i64, i64), Entry<Bytes>>>,
    /// Which tickets not in `entries` may be added to it.
    doorkeeper: Doorkeeper,
    /// Under [`TicketCache::total_version`] rather than the generation.
    totals: Option<Memo<(i64, TicketFilter), Entry<i64>>>,
    pages: Option<Memo<PageKey, Entry<Bytes>, PageWeighter>>,
    ttl: Duration,
    generation: AtomicU64,
    /// Of `GET /tickets/:id` bodies.
    pub ticket_counts: std::sync::Arc<HitCounts>,
    /// Of `GET /tickets` pages.
    pub page_counts: std::sync::Arc<HitCounts>,
}

impl TicketCache {
    /// A cache whose entries live `ttl`; a zero `ttl` disables it.
    pub fn new(ttl: Duration) -> Self {
        let on = !ttl.is_zero();
        Self {
            entries: on.then(|| Memo::new(MAX_ENTRIES)),
            doorkeeper: Doorkeeper::new(),
            totals: on.then(|| Memo::new(MAX_TOTALS)),
            // ~30 KiB a page, for sizing the table.
            pages: on.then(|| {
                Memo::weighted(
                    (MAX_PAGE_BYTES / (30 << 10)) as usize,
                    MAX_PAGE_BYTES,
                    PageWeighter,
                )
            }),
            ttl,
            generation: AtomicU64::new(0),
            ticket_counts: Default::default(),
            page_counts: Default::default(),
        }
    }

    /// The generation to read under; pass it back to [`TicketCache::put_total`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Called when a request that may have written finishes.
    pub fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Whether an entry may be served at `generation` (the current one): rendered since the
    /// last write, within its time-to-live.
    fn fresh<T>(generation: u64) -> impl Fn(&Entry<T>) -> bool {
        let now = Instant::now();
        move |entry| entry.generation == generation && now < entry.expires
    }

    /// The value of `key` in `memo` if fresh, else what `render` makes, kept unless a write
    /// finished while it rendered, or unless the key has no entry, fresh or stale, and
    /// `admit_new` (asked only then) refuses it.
    async fn cached<K, V, W, E>(
        &self,
        memo: Option<&Memo<K, Entry<V>, W>>,
        counts: &HitCounts,
        key: &K,
        admit_new: impl FnOnce() -> bool,
        render: impl Future<Output = Result<V, E>>,
    ) -> Result<V, E>
    where
        K: Eq + std::hash::Hash + Clone,
        V: Clone,
        W: Weighter<K, Entry<V>> + Clone,
    {
        let Some(memo) = memo else {
            counts.count(true);
            return render.await;
        };
        let generation = self.generation();
        let fresh = Self::fresh(generation);
        // One lookup tells a fresh entry (served), a stale one (rendered and kept again) and
        // none (kept only if admitted).
        match memo.get(key, |_| true) {
            Some(entry) if fresh(&entry) => {
                counts.count(false);
                return Ok(entry.value);
            }
            Some(_) => {}
            None if admit_new() => {}
            None => {
                counts.count(true);
                return render.await;
            }
        }
        // Set when this request's own render runs (a request that waited for another's render
        // of the same key was served without rendering: a hit).
        let rendered = std::sync::atomic::AtomicBool::new(false);
        let entry = memo
            .load(
                key,
                fresh,
                async {
                    rendered.store(true, Ordering::Relaxed);
                    let value = render.await?;
                    let expires = Instant::now() + self.ttl;
                    Ok(Entry {
                        generation,
                        expires,
                        value,
                    })
                },
                |_| self.generation() == generation,
            )
            .await;
        counts.count(rendered.load(Ordering::Relaxed));
        Ok(entry?.value)
    }

    /// The rendered `GET /tickets/:id` body of a ticket: cached once it has an entry or the
    /// [`Doorkeeper`] saw it lately.
    pub async fn ticket<E>(
        &self,
        helpdesk_row: i64,
        ticket_id: i64,
        render: impl Future<Output = Result<Bytes, E>>,
    ) -> Result<Bytes, E> {
        let key = (helpdesk_row, ticket_id);
        let admit_new = || self.doorkeeper.seen_again(&key);
        self.cached(
            self.entries.as_ref(),
            &self.ticket_counts,
            &key,
            admit_new,
            render,
        )
        .await
    }

    /// A rendered `GET /tickets` page.
    pub async fn page<E>(
        &self,
        key: &PageKey,
        render: impl Future<Output = Result<Bytes, E>>,
    ) -> Result<Bytes, E> {
        self.cached(self.pages.as_ref(), &self.page_counts, key, || true, render)
            .await
    }

    /// What a total of `filter` depends on, now: the generation (any write), or for a filter that
    /// [matches by creation only](TicketFilter::matches_by_creation_only) the store's
    /// `ticket_set` version (tickets added or removed). Each filter keeps to one of the two.
    pub fn total_version(&self, filter: &TicketFilter, ticket_set: u64) -> u64 {
        if filter.matches_by_creation_only() {
            ticket_set
        } else {
            self.generation()
        }
    }

    /// The total of `filter` in a helpdesk, when counted at `version` (its
    /// [`TicketCache::total_version`] now).
    pub fn total(&self, helpdesk_row: i64, filter: &TicketFilter, version: u64) -> Option<i64> {
        let key = (helpdesk_row, filter.clone());
        Some(self.totals.as_ref()?.get(&key, Self::fresh(version))?.value)
    }

    /// Keep a total counted at `version` (read before counting), unless it moved since (`now`).
    pub fn put_total(&self, helpdesk_row: i64, filter: &TicketFilter, version: u64, now: u64, total: i64) {
        if let Some(totals) = &self.totals
            && version == now
        {
            let entry = Entry {
                generation: version,
                expires: Instant::now() + self.ttl,
                value: total,
            };
            totals.insert((helpdesk_row, filter.clone()), entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;

    /// The body `cache` serves for ticket (1, 2), rendering `fresh` on a miss.
    async fn ticket(cache: &TicketCache, fresh: &'static [u8]) -> Bytes {
        let render = async { Ok::<_, Infallible>(Bytes::from_static(fresh)) };
        cache.ticket(1, 2, render).await.unwrap()
    }

    /// A cache that has seen ticket (1, 2) asked for once, so that it caches it from now on.
    fn cache_seeing_ticket(ttl: Duration) -> TicketCache {
        let cache = TicketCache::new(ttl);
        assert!(!cache.doorkeeper.seen_again(&(1, 2)));
        cache
    }

    #[tokio::test]
    async fn a_ticket_is_cached_from_its_second_request() {
        let cache = TicketCache::new(Duration::from_secs(60));
        assert_eq!(ticket(&cache, b"v1").await, &b"v1"[..]);
        assert_eq!(
            ticket(&cache, b"v2").await,
            &b"v2"[..],
            "rendered again, now kept"
        );
        assert_eq!(ticket(&cache, b"v3").await, &b"v2"[..], "served from the cache");
        let counts = &cache.ticket_counts;
        let count = |c: &AtomicU64| c.load(Ordering::Relaxed);
        assert_eq!((count(&counts.hits), count(&counts.misses)), (1, 2));
        // Stale, but it has an entry: kept again on its first request.
        cache.bump();
        assert_eq!(ticket(&cache, b"v4").await, &b"v4"[..]);
        assert_eq!(ticket(&cache, b"v5").await, &b"v4"[..]);
    }

    #[tokio::test]
    async fn tickets_asked_for_once_are_not_kept() {
        let cache = TicketCache::new(Duration::from_secs(60));
        for id in 0..1_000 {
            let body = cache.ticket(1, id, async { Ok::<_, Infallible>(Bytes::from_static(b"x")) });
            assert_eq!(body.await.unwrap(), &b"x"[..]);
        }
        assert_eq!(cache.entries.as_ref().expect("enabled").len(), 0);
        let other_helpdesk = cache.ticket(2, 7, async { Ok::<_, Infallible>(Bytes::from_static(b"y")) });
        other_helpdesk.await.unwrap();
        assert_eq!(
            cache.entries.as_ref().expect("enabled").len(),
            0,
            "(2, 7) is not (1, 7)"
        );
    }

    #[tokio::test]
    async fn readers_of_a_new_ticket_render_it_at_most_twice() {
        let cache = std::sync::Arc::new(TicketCache::new(Duration::from_secs(60)));
        let renders = std::sync::Arc::new(AtomicU64::new(0));
        let readers: Vec<_> = (0..32)
            .map(|_| {
                let (cache, renders) = (cache.clone(), renders.clone());
                tokio::spawn(async move {
                    let render = async {
                        renders.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok::<_, Infallible>(Bytes::from_static(b"t"))
                    };
                    cache.ticket(1, 2, render).await.unwrap()
                })
            })
            .collect();
        for reader in readers {
            assert_eq!(reader.await.unwrap(), &b"t"[..]);
        }
        // The first reader's render is not kept; the others wait for the second one's.
        assert_eq!(renders.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_write_invalidates() {
        let cache = cache_seeing_ticket(Duration::from_secs(60));
        assert_eq!(ticket(&cache, b"v1").await, &b"v1"[..]);
        assert_eq!(ticket(&cache, b"v2").await, &b"v1"[..], "served from the cache");
        cache.bump();
        assert_eq!(
            ticket(&cache, b"v2").await,
            &b"v2"[..],
            "rendered again after a write"
        );
        let other = cache.ticket(9, 2, async { Ok::<_, Infallible>(Bytes::from_static(b"o")) });
        assert_eq!(other.await.unwrap(), &b"o"[..], "another helpdesk");
    }

    #[tokio::test]
    async fn a_render_that_raced_a_write_is_not_kept() {
        let cache = cache_seeing_ticket(Duration::from_secs(60));
        let racing = cache.ticket(1, 2, async {
            cache.bump(); // a write finishes while this renders
            Ok::<_, Infallible>(Bytes::from_static(b"old"))
        });
        assert_eq!(racing.await.unwrap(), &b"old"[..]);
        assert_eq!(ticket(&cache, b"new").await, &b"new"[..]);
    }

    #[tokio::test]
    async fn failed_renders_are_not_kept() {
        let cache = cache_seeing_ticket(Duration::from_secs(60));
        let failed = cache.ticket(1, 2, async { Err::<Bytes, _>("not found") });
        assert_eq!(failed.await, Err("not found"));
        assert_eq!(ticket(&cache, b"v").await, &b"v"[..]);
    }

    #[test]
    fn totals_follow_the_same_rules() {
        let cache = TicketCache::new(Duration::from_secs(60));
        let open = TicketFilter {
            status_list: vec![1],
            ..TicketFilter::default()
        };
        let version = |filter: &TicketFilter| cache.total_version(filter, 0);
        let g = version(&open);
        assert_eq!(g, cache.generation(), "a status filter follows every write");
        cache.put_total(1, &open, g, version(&open), 7);
        assert_eq!(cache.total(1, &open, version(&open)), Some(7));
        let all = TicketFilter::default();
        assert_eq!(cache.total(1, &all, version(&all)), None, "another filter");
        assert_eq!(cache.total(2, &open, version(&open)), None, "another helpdesk");
        cache.bump();
        assert_eq!(cache.total(1, &open, version(&open)), None, "stale after a write");
        cache.put_total(1, &open, g, version(&open), 7);
        assert_eq!(
            cache.total(1, &open, version(&open)),
            None,
            "a count that raced a write is not kept"
        );
    }

    #[test]
    fn totals_by_creation_only_last_until_the_ticket_set_changes() {
        let cache = TicketCache::new(Duration::from_secs(60));
        let all = TicketFilter::default();
        let created = TicketFilter {
            created: Some((0, 1_000)),
            ..TicketFilter::default()
        };
        for filter in [&all, &created] {
            let at = |ticket_set| cache.total_version(filter, ticket_set);
            cache.put_total(1, filter, at(3), at(3), 10_000);
            cache.bump();
            assert_eq!(cache.total(1, filter, at(3)), Some(10_000), "kept across writes");
            assert_eq!(
                cache.total(1, filter, at(4)),
                None,
                "stale once tickets were added"
            );
            cache.put_total(1, filter, at(4), at(5), 9);
            assert_eq!(
                cache.total(1, filter, at(5)),
                None,
                "a count that raced an insert is not kept"
            );
        }
        let short = TicketCache::new(Duration::from_millis(1));
        let v = short.total_version(&all, 0);
        short.put_total(1, &all, v, v, 7);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(
            short.total(1, &all, v),
            None,
            "expired: other processes may write"
        );
    }

    #[tokio::test]
    async fn pages_follow_the_same_rules() {
        let cache = TicketCache::new(Duration::from_secs(60));
        let closed = TicketFilter {
            status_list: vec![50],
            ..TicketFilter::default()
        };
        let page = |key: PageKey, body: &'static [u8]| {
            let cache = &cache;
            async move {
                let render = async { Ok::<_, Infallible>(Bytes::from_static(body)) };
                cache.page(&key, render).await.unwrap()
            }
        };
        let first = (1, closed.clone(), 0, 20);
        assert_eq!(page(first.clone(), b"p1").await, &b"p1"[..]);
        assert_eq!(
            page(first.clone(), b"p2").await,
            &b"p1"[..],
            "served from the cache"
        );
        assert_eq!(
            page((1, closed.clone(), 20, 20), b"x").await,
            &b"x"[..],
            "another page"
        );
        assert_eq!(
            page((1, closed.clone(), 0, 50), b"x").await,
            &b"x"[..],
            "another page size"
        );
        assert_eq!(
            page((2, closed.clone(), 0, 20), b"x").await,
            &b"x"[..],
            "another helpdesk"
        );
        assert_eq!(
            page((1, TicketFilter::default(), 0, 20), b"x").await,
            &b"x"[..],
            "another filter"
        );
        cache.bump();
        assert_eq!(
            page(first, b"p2").await,
            &b"p2"[..],
            "rendered again after a write"
        );
    }

    #[tokio::test]
    async fn pages_are_bounded_by_size() {
        let cache = TicketCache::new(Duration::from_secs(60));
        let big = Bytes::from(vec![b' '; 1 << 20]);
        for offset in 0..100 {
            let key = (1, TicketFilter::default(), offset, 20);
            let render = async { Ok::<_, Infallible>(big.clone()) };
            cache.page(&key, render).await.unwrap();
        }
        let pages = cache.pages.as_ref().expect("enabled");
        assert!(pages.weight() <= MAX_PAGE_BYTES, "{} bytes held", pages.weight());
        assert!((1..100).contains(&pages.len()), "{} pages held", pages.len());
    }

    #[tokio::test]
    async fn entries_expire_after_the_ttl() {
        let cache = cache_seeing_ticket(Duration::from_millis(50));
        assert_eq!(ticket(&cache, b"v1").await, &b"v1"[..]);
        assert_eq!(ticket(&cache, b"v2").await, &b"v1"[..]);
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(ticket(&cache, b"v2").await, &b"v2"[..], "expired");
    }

    #[tokio::test]
    async fn zero_ttl_disables() {
        let cache = cache_seeing_ticket(Duration::ZERO);
        assert_eq!(ticket(&cache, b"v1").await, &b"v1"[..]);
        assert_eq!(ticket(&cache, b"v2").await, &b"v2"[..]);
        cache.put_total(1, &TicketFilter::default(), 0, 0, 3);
        assert_eq!(cache.total(1, &TicketFilter::default(), 0), None);
    }
}
