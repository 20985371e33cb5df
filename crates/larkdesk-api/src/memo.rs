//! A bounded in-memory map of values read from the store, where requests that miss the same key
//! at the same moment wait for one read instead of all reading (single flight).
//!
//! Why single flight: cached values expire together (every app, helpdesk and ticket a busy
//! client uses expires once a second), and without it every request in flight at that moment
//! (64 under the benchmark's load) repeats the same database read; that burst was most of the
//! GET path's p99.
//!
//! Built on quick_cache (CLOCK-Pro eviction, sharded locks): a hit is a hash, a read lock and a
//! clone. Validity (a time-to-live, a generation) is the caller's predicate, checked on every
//! read. Keys are hashed on every request: foldhash instead of SipHash.

use std::hash::Hash;

use quick_cache::sync::{EntryAction, EntryResult};
use quick_cache::{Equivalent, UnitWeighter, Weighter};

type Map<K, V, W> = quick_cache::sync::Cache<K, V, W, foldhash::fast::RandomState>;

pub struct Memo<K, V, W = UnitWeighter> {
    map: Map<K, V, W>,
}

impl<K: Eq + Hash + Clone, V: Clone> Memo<K, V> {
    /// A memo of at most `capacity` values.
    pub fn new(capacity: usize) -> Self {
        Self::weighted(capacity, capacity as u64, UnitWeighter)
    }
}

impl<K: Eq + Hash + Clone, V: Clone, W: Weighter<K, V> + Clone> Memo<K, V, W> {
    /// A memo of at most `max_weight` (as `weighter` weighs values), sized for about
    /// `estimated_items` of them.
    pub fn weighted(estimated_items: usize, max_weight: u64, weighter: W) -> Self {
        Self {
            map: Map::with(
                estimated_items,
                max_weight,
                weighter,
                Default::default(),
                Default::default(),
            ),
        }
    }

    /// The value of `key`, if there is one and it is `valid`.
    pub fn get<Q>(&self, key: &Q, valid: impl Fn(&V) -> bool) -> Option<V>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        self.map.get(key).filter(|v| valid(v))
    }

    /// The value of `key` if it is `valid`, else the value `load` produces, which is kept when
    /// `keep` says so. While one caller loads a key, other callers of this method for the same
    /// key wait for its value (and check it with `valid` themselves); if the loader fails or
    /// does not keep its value, the next waiter loads.
    pub async fn get_or_load<Q, E>(
        &self,
        key: &Q,
        valid: impl Fn(&V) -> bool,
        load: impl Future<Output = Result<V, E>>,
        keep: impl FnOnce(&V) -> bool,
    ) -> Result<V, E>
    where
        Q: Hash + Equivalent<K> + ToOwned<Owned = K> + ?Sized,
    {
        if let Some(value) = self.get(key, &valid) {
            return Ok(value);
        }
        self.load(key, valid, load, keep).await
    }

    /// [`Memo::get_or_load`] for a caller that found no `valid` value of `key` with
    /// [`Memo::get`] a moment ago: the value another caller is loading or just loaded, if
    /// `valid`, else the value `load` produces, kept when `keep` says so.
    pub async fn load<Q, E>(
        &self,
        key: &Q,
        valid: impl Fn(&V) -> bool,
        load: impl Future<Output = Result<V, E>>,
        keep: impl FnOnce(&V) -> bool,
    ) -> Result<V, E>
    where
        Q: Hash + Equivalent<K> + ToOwned<Owned = K> + ?Sized,
    {
        let guard = match self
            .map
            .entry_async(key, |_, value| {
                if valid(value) {
                    EntryAction::Retain(value.clone())
                } else {
                    EntryAction::ReplaceWithGuard
                }
            })
            .await
        {
            EntryResult::Retained(value) => return Ok(value),
            EntryResult::Replaced(guard, _) | EntryResult::Vacant(guard) => Some(guard),
            // Neither happens here (no callback asks for removal, the async form has no
            // timeout); load without the memo rather than assume.
            EntryResult::Removed(..) | EntryResult::Timeout => None,
        };
        let value = load.await?;
        if let Some(guard) = guard
            && keep(&value)
        {
            // Refused only when the value outweighs the whole memo.
            let _ = guard.insert(value.clone());
        }
        Ok(value)
    }

    /// Keep `value` for `key` (replacing any).
    pub fn insert(&self, key: K, value: V) {
        self.map.insert(key, value);
    }

    pub fn clear(&self) {
        self.map.clear();
    }

    #[cfg(test)]
    pub(crate) fn weight(&self) -> u64 {
        self.map.weight()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    async fn load_counted(loads: &AtomicUsize, value: u32) -> Result<u32, ()> {
        loads.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(value)
    }

    #[tokio::test]
    async fn concurrent_misses_of_one_key_load_once() {
        let memo = Arc::new(Memo::<u32, u32>::new(10));
        let loads = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let (memo, loads) = (Arc::clone(&memo), Arc::clone(&loads));
                tokio::spawn(async move {
                    memo.get_or_load(&1, |_| true, load_counted(&loads, 7), |_| true)
                        .await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), Ok(7));
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_invalid_value_is_loaded_again_and_replaced() {
        let memo = Memo::<u32, u32>::new(10);
        let loads = AtomicUsize::new(0);
        let got = memo.get_or_load(&1, |_| true, load_counted(&loads, 1), |_| true);
        assert_eq!(got.await, Ok(1));
        // Valid only if it is 2: the stored 1 is replaced.
        let got = memo.get_or_load(&1, |v| *v == 2, load_counted(&loads, 2), |_| true);
        assert_eq!(got.await, Ok(2));
        assert_eq!(memo.get(&1, |_| true), Some(2));
        assert_eq!(loads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn failures_and_unkept_values_are_not_stored() {
        let memo = Memo::<u32, u32>::new(10);
        let failed = memo.get_or_load(&1, |_| true, async { Err::<u32, _>("down") }, |_| true);
        assert_eq!(failed.await, Err("down"));
        assert_eq!(memo.get(&1, |_| true), None);
        let unkept = memo.get_or_load(&1, |_| true, async { Ok::<_, ()>(5) }, |_| false);
        assert_eq!(unkept.await, Ok(5));
        assert_eq!(memo.get(&1, |_| true), None);
    }

    #[tokio::test]
    async fn a_waiter_loads_when_the_loader_gives_up() {
        let memo = Arc::new(Memo::<u32, u32>::new(10));
        let first = {
            let memo = Arc::clone(&memo);
            tokio::spawn(async move {
                memo.get_or_load(
                    &1,
                    |_| true,
                    async {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Err::<u32, _>("down")
                    },
                    |_| true,
                )
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        let second = memo.get_or_load(&1, |_| true, async { Ok::<_, &str>(9) }, |_| true);
        assert_eq!(second.await, Ok(9));
        assert_eq!(first.await.unwrap(), Err("down"));
        assert_eq!(memo.get(&1, |_| true), Some(9));
    }
}
