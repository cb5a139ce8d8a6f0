//! This process's memory of what every authenticated request asks PostgreSQL: is this session live, what is
//! this user's role in this organization, and who is this user (`GET /me`). With it, a request spends no
//! round trip on them.
//!
//! Correctness comes from invalidation, not from short lifetimes:
//! - PostgreSQL triggers (`migrations/20261130000001_auth_change_notifications.sql`) send a notification on the
//!   channel [`CHANNEL`] for every change of a user, membership, organization or session. Each API process
//!   listens ([`listen`]) and forgets what the change touched: every replica learns of a change within a
//!   notification's delivery time.
//! - The request that made a change also forgets it here, after its commit, so its own client's next request
//!   never sees the old answer.
//! - While the listener is not connected (startup, a lost connection), nothing is answered from or stored in
//!   memory, and everything is forgotten when it (re)connects: a missed notification cannot leave a stale
//!   answer.
//! - A reader stores what it read only if no change was applied since it started reading ([`Ticket`]): an
//!   answer read just before a change commits cannot be stored after the change was applied.
//!
//! Entries also expire (sessions after `INSIGHTS_SESSION_CHECK_CACHE_SECS`, since a session also ends by
//! expiring; the rest after [`TTL`]), and a map that grows past [`MAX_ENTRIES`] is emptied.

use insights_types::api::MeOut;
use insights_types::{OrgId, Role, UserId};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The notification channel of the triggers.
pub const CHANNEL: &str = "insights_auth_changes";
/// How long a role or a `/me` answer is kept (a backstop: changes are notified).
pub const TTL: Duration = Duration::from_secs(300);
/// The most entries one map keeps.
pub const MAX_ENTRIES: usize = 100_000;

/// What changed, as the triggers name it (`{"kind": "member", "org": …, "user": …}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// A login session (refresh-token family) was ended or deleted.
    Session { family: Uuid },
    /// A membership was added, changed or removed.
    Member { org: OrgId, user: UserId },
    /// A user's own row changed (name, verified email, password) or was deleted.
    User { user: UserId },
    /// An organization changed (its name appears in its members' `/me`) or was deleted.
    Org { org: OrgId },
}

/// Proof that a reader started before any change it did not see: taken before reading PostgreSQL, handed back
/// to store the answer. `None` while the cache is off.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

#[derive(Clone, Debug)]
pub struct AuthCache(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    /// Bumped by every change applied and every (dis)connection of the listener.
    generation: AtomicU64,
    listening: AtomicBool,
    session_ttl: Duration,
    sessions: Map<Uuid, bool>,
    roles: Map<(OrgId, UserId), Role>,
    me: Map<UserId, MeOut>,
}

impl AuthCache {
    /// Off until [`listen`] connects.
    #[must_use]
    pub fn new(session_ttl: Duration) -> Self {
        Self(Arc::new(Inner {
            generation: AtomicU64::new(0),
            listening: AtomicBool::new(false),
            session_ttl,
            sessions: Map::default(),
            roles: Map::default(),
            me: Map::default(),
        }))
    }

    /// A ticket for a read about to start, or `None` when answers must not be stored.
    #[must_use]
    pub fn ticket(&self) -> Option<Ticket> {
        let generation = self.0.generation.load(Ordering::SeqCst);
        self.on().then_some(Ticket(generation))
    }

    fn on(&self) -> bool {
        self.0.listening.load(Ordering::SeqCst)
    }

    #[must_use]
    pub fn session(&self, family: Uuid) -> Option<bool> {
        self.on().then(|| self.0.sessions.get(&family)).flatten()
    }

    pub fn put_session(&self, ticket: Option<Ticket>, family: Uuid, live: bool) {
        self.put(&self.0.sessions, ticket, family, live, self.0.session_ttl);
    }

    #[must_use]
    pub fn role(&self, org: OrgId, user: UserId) -> Option<Role> {
        self.on().then(|| self.0.roles.get(&(org, user))).flatten()
    }

    pub fn put_role(&self, ticket: Option<Ticket>, org: OrgId, user: UserId, role: Role) {
        self.put(&self.0.roles, ticket, (org, user), role, TTL);
    }

    #[must_use]
    pub fn me(&self, user: UserId) -> Option<MeOut> {
        self.on().then(|| self.0.me.get(&user)).flatten()
    }

    pub fn put_me(&self, ticket: Option<Ticket>, user: UserId, me: MeOut) {
        self.put(&self.0.me, ticket, user, me, TTL);
    }

    fn put<K: Eq + Hash, V: Clone>(
        &self,
        map: &Map<K, V>,
        ticket: Option<Ticket>,
        key: K,
        value: V,
        ttl: Duration,
    ) {
        let Some(Ticket(seen)) = ticket else { return };
        let mut entries = map
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Checked under the lock a change takes to forget: either this insert comes before the change's removal
        // (which then removes it), or the change's bump came first and the answer is not stored.
        if !self.on() || self.0.generation.load(Ordering::SeqCst) != seen {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (value, Instant::now() + ttl));
    }

    /// Forgets what `change` touched.
    pub fn forget(&self, change: Change) {
        self.0.generation.fetch_add(1, Ordering::SeqCst);
        match change {
            Change::Session { family } => self.0.sessions.retain(|f| *f != family),
            Change::Member { org, user } => {
                self.0.roles.retain(|k| *k != (org, user));
                self.0.me.retain(|u| *u != user);
            }
            Change::User { user } => {
                self.0.roles.retain(|(_, u)| *u != user);
                self.0.me.retain(|u| *u != user);
            }
            Change::Org { org } => {
                self.0.roles.retain(|(o, _)| *o != org);
                // Whose `/me` lists the organization is not known here: forget them all (a rare change).
                self.0.me.clear();
            }
        }
    }

    /// Forgets everything, and answers from memory from now on only if `listening`.
    fn reset(&self, listening: bool) {
        self.0.generation.fetch_add(1, Ordering::SeqCst);
        self.0.listening.store(listening, Ordering::SeqCst);
        self.0.generation.fetch_add(1, Ordering::SeqCst);
        self.0.sessions.clear();
        self.0.roles.clear();
        self.0.me.clear();
    }
}

/// Listens for the triggers' notifications on a connection of `pool` and applies them, reconnecting after a
/// loss (with the cache off until then). Runs until dropped.
pub async fn listen(cache: AuthCache, pool: sqlx::PgPool) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match listening(&pool).await {
            Ok(mut listener) => {
                cache.reset(true);
                backoff = Duration::from_millis(100);
                // `try_recv` answers `None` when the connection is lost (notifications may have been missed).
                while let Ok(Some(n)) = listener.try_recv().await {
                    match serde_json::from_str::<Change>(n.payload()) {
                        Ok(change) => cache.forget(change),
                        Err(e) => {
                            tracing::warn!(error = %e, "unreadable auth change notification; forgetting everything");
                            cache.reset(true);
                        }
                    }
                }
                tracing::warn!(
                    "auth change listener lost its connection; answering from PostgreSQL"
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for auth changes; answering from PostgreSQL");
            }
        }
        cache.reset(false);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

async fn listening(pool: &sqlx::PgPool) -> Result<sqlx::postgres::PgListener, sqlx::Error> {
    let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// A map of entries with their expiry.
#[derive(Debug)]
struct Map<K, V>(RwLock<HashMap<K, (V, Instant)>>);

impl<K, V> Default for Map<K, V> {
    fn default() -> Self {
        Self(RwLock::new(HashMap::new()))
    }
}

impl<K: Eq + Hash, V: Clone> Map<K, V> {
    fn get(&self, key: &K) -> Option<V> {
        let entries = self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(v, _)| v.clone())
    }

    fn retain(&self, keep: impl Fn(&K) -> bool) {
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|k, _| keep(k));
    }

    fn clear(&self) {
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listening() -> AuthCache {
        let cache = AuthCache::new(Duration::from_secs(5));
        cache.reset(true);
        cache
    }

    #[test]
    fn nothing_is_kept_while_not_listening() {
        let cache = AuthCache::new(Duration::from_secs(5));
        let family = Uuid::now_v7();
        assert!(cache.ticket().is_none());
        cache.put_session(cache.ticket(), family, true);
        cache.reset(true);
        assert_eq!(cache.session(family), None);
        cache.put_session(cache.ticket(), family, true);
        assert_eq!(cache.session(family), Some(true));
        // The listener lost its connection: everything is forgotten, nothing answered.
        cache.reset(false);
        assert_eq!(cache.session(family), None);
    }

    #[test]
    fn an_answer_read_before_a_change_is_not_stored_after_it() {
        let cache = listening();
        let (org, user) = (OrgId::new(), UserId::new());
        let ticket = cache.ticket();
        // A change of an unrelated membership lands while the read is in flight.
        cache.forget(Change::Member {
            org: OrgId::new(),
            user,
        });
        cache.put_role(ticket, org, user, Role::Admin);
        assert_eq!(cache.role(org, user), None);
        cache.put_role(cache.ticket(), org, user, Role::Admin);
        assert_eq!(cache.role(org, user), Some(Role::Admin));
    }

    #[test]
    fn each_change_forgets_what_it_touched_and_no_more() {
        let cache = listening();
        let (org, other_org, user, other_user) =
            (OrgId::new(), OrgId::new(), UserId::new(), UserId::new());
        let fill = |cache: &AuthCache| {
            for (o, u) in [(org, user), (org, other_user), (other_org, user)] {
                cache.put_role(cache.ticket(), o, u, Role::Member);
            }
        };
        fill(&cache);
        cache.forget(Change::Member { org, user });
        assert_eq!(cache.role(org, user), None);
        assert_eq!(cache.role(org, other_user), Some(Role::Member));
        assert_eq!(cache.role(other_org, user), Some(Role::Member));

        fill(&cache);
        cache.forget(Change::User { user });
        assert_eq!(cache.role(org, user), None);
        assert_eq!(cache.role(other_org, user), None);
        assert_eq!(cache.role(org, other_user), Some(Role::Member));

        fill(&cache);
        cache.forget(Change::Org { org });
        assert_eq!(cache.role(org, user), None);
        assert_eq!(cache.role(org, other_user), None);
        assert_eq!(cache.role(other_org, user), Some(Role::Member));

        let (family, other_family) = (Uuid::now_v7(), Uuid::now_v7());
        cache.put_session(cache.ticket(), family, true);
        cache.put_session(cache.ticket(), other_family, true);
        cache.forget(Change::Session { family });
        assert_eq!(cache.session(family), None);
        assert_eq!(cache.session(other_family), Some(true));
    }

    #[test]
    fn entries_expire() {
        let cache = AuthCache::new(Duration::ZERO);
        cache.reset(true);
        let family = Uuid::now_v7();
        cache.put_session(cache.ticket(), family, true);
        assert_eq!(cache.session(family), None);
    }

    #[test]
    fn notifications_parse() {
        let org = OrgId::new();
        let user = UserId::new();
        let payload = format!(
            r#"{{"kind":"member","org":"{}","user":"{}"}}"#,
            org.0, user.0
        );
        assert_eq!(
            serde_json::from_str::<Change>(&payload).unwrap(),
            Change::Member { org, user }
        );
    }
}
