//! This process's memory of what requests ask PostgreSQL most: is this session live, what is this user's role
//! in this organization, who is this user (`GET /me`) — asked by every authenticated request — and the pages
//! of each organization's incident list served lately. With it, a request spends no round trip on them.
//!
//! Correctness comes from invalidation, not from short lifetimes:
//! - PostgreSQL triggers send a notification for every change: on the channel [`CHANNEL`] for a user,
//!   membership, organization or session (`migrations/20261130000001_auth_change_notifications.sql`), on
//!   [`INCIDENT_CHANNEL`] the organization whose incidents, services, teams or pattern aliases a statement
//!   wrote (`migrations/20261130000200_incident_change_notifications.sql`). Each API process listens
//!   ([`listen`]) and forgets what the change touched: every replica learns of a change within a
//!   notification's delivery time.
//! - The request that made a change also forgets it here, after its commit, so its own client's next request
//!   never sees the old answer (for incident pages: every write request into an organization forgets its
//!   pages, [`crate::http::middleware::forget_written_pages`]).
//! - While the listener is not connected (startup, a lost connection), nothing is answered from or stored in
//!   memory, and everything is forgotten when it (re)connects: a missed notification cannot leave a stale
//!   answer.
//! - A reader stores what it read only if no change was applied since it started reading ([`Ticket`]): an
//!   answer read just before a change commits cannot be stored after the change was applied.
//!
//! Entries also expire (sessions after `INSIGHTS_SESSION_CHECK_CACHE_SECS`, since a session also ends by
//! expiring; the rest after [`TTL`]), and a map that grows past [`MAX_ENTRIES`] (pages: past their budget,
//! `INSIGHTS_PAGE_CACHE_MB`) is emptied.
//!
//! Pages are kept only when the incident list reads the primary: a read replica replays a change after its
//! notification arrives, so a page read there just after it could be stale and would then be kept.

use axum::body::Bytes;
use insights_types::api::MeOut;
use insights_types::{OrgId, Role, UserId};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The notification channel of the auth triggers (payload: a [`Change`] as JSON).
pub const CHANNEL: &str = "insights_auth_changes";
/// The notification channel of the incident triggers (payload: the organization's id).
pub const INCIDENT_CHANNEL: &str = "insights_incident_changes";
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
    /// What an organization's incident list shows changed (incidents, services, teams, pattern aliases).
    Incidents { org: OrgId },
}

/// Proof that a reader started before any change it did not see: taken before reading PostgreSQL, handed back
/// to store the answer. `None` while the cache is off.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

#[derive(Clone, Debug)]
pub struct ReadCache(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    /// Bumped by every change applied and every (dis)connection of the listener.
    generation: AtomicU64,
    listening: AtomicBool,
    session_ttl: Duration,
    sessions: Map<Uuid, bool>,
    roles: Map<(OrgId, UserId), Role>,
    me: Map<UserId, MeOut>,
    pages: Pages,
}

/// Serialized pages of incident lists by organization and query, within a budget of bytes; their own
/// generation, so that the many incident changes of a busy installation do not keep auth answers from being
/// stored.
#[derive(Debug)]
struct Pages {
    generation: AtomicU64,
    budget: usize,
    entries: RwLock<PageMap>,
}

#[derive(Debug, Default)]
struct PageMap {
    pages: HashMap<(OrgId, String), (Bytes, Instant)>,
    bytes: usize,
}

impl ReadCache {
    /// Off until [`listen`] connects. Pages take at most `page_budget` bytes (0: none are kept).
    #[must_use]
    pub fn new(session_ttl: Duration, page_budget: usize) -> Self {
        Self(Arc::new(Inner {
            generation: AtomicU64::new(0),
            listening: AtomicBool::new(false),
            session_ttl,
            sessions: Map::default(),
            roles: Map::default(),
            me: Map::default(),
            pages: Pages {
                generation: AtomicU64::new(0),
                budget: page_budget,
                entries: RwLock::default(),
            },
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

    /// A ticket for a page read about to start, or `None` when pages are not kept.
    #[must_use]
    pub fn page_ticket(&self) -> Option<Ticket> {
        let generation = self.0.pages.generation.load(Ordering::SeqCst);
        (self.on() && self.0.pages.budget > 0).then_some(Ticket(generation))
    }

    /// The page of `org`'s incident list the query `key` asked for, as served.
    #[must_use]
    pub fn page(&self, org: OrgId, key: &str) -> Option<Bytes> {
        if !self.on() {
            return None;
        }
        let entries = self
            .0
            .pages
            .entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // (A borrowed lookup of an owned-key map: the key is built; pages are few kilobytes, this is cheap.)
        entries
            .pages
            .get(&(org, key.to_owned()))
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(body, _)| body.clone())
    }

    pub fn put_page(&self, ticket: Option<Ticket>, org: OrgId, key: String, body: Bytes) {
        let Some(Ticket(seen)) = ticket else { return };
        let pages = &self.0.pages;
        let size = key.len() + body.len();
        // One page may take an eighth of the budget: a few huge pages cannot crowd out the rest.
        if size > pages.budget / 8 {
            return;
        }
        let mut entries = pages
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // As in `put`: checked under the lock a change takes to forget.
        if !self.on() || pages.generation.load(Ordering::SeqCst) != seen {
            return;
        }
        if entries.bytes + size > pages.budget {
            entries.pages.clear();
            entries.bytes = 0;
        }
        let key_len = key.len();
        if let Some((old, _)) = entries
            .pages
            .insert((org, key), (body, Instant::now() + TTL))
        {
            entries.bytes -= key_len + old.len();
        }
        entries.bytes += size;
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
        if let Change::Incidents { org } | Change::Org { org } = change {
            self.forget_pages(|o| *o == org);
            if matches!(change, Change::Incidents { .. }) {
                return;
            }
        }
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
            Change::Incidents { .. } => {}
        }
    }

    /// Forgets the pages of the organizations `which` selects.
    fn forget_pages(&self, which: impl Fn(&OrgId) -> bool) {
        let pages = &self.0.pages;
        pages.generation.fetch_add(1, Ordering::SeqCst);
        let mut entries = pages
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let PageMap { pages, bytes } = &mut *entries;
        pages.retain(|(org, key), (body, _)| {
            let keep = !which(org);
            if !keep {
                *bytes -= key.len() + body.len();
            }
            keep
        });
    }

    /// Forgets everything, and answers from memory from now on only if `listening`.
    fn reset(&self, listening: bool) {
        self.0.generation.fetch_add(1, Ordering::SeqCst);
        self.0.listening.store(listening, Ordering::SeqCst);
        self.0.generation.fetch_add(1, Ordering::SeqCst);
        self.0.sessions.clear();
        self.0.roles.clear();
        self.0.me.clear();
        self.forget_pages(|_| true);
    }
}

/// Listens for the triggers' notifications on a connection of `pool` and applies them, reconnecting after a
/// loss (with the cache off until then). Runs until dropped.
pub async fn listen(cache: ReadCache, pool: sqlx::PgPool) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match listening(&pool).await {
            Ok(mut listener) => {
                cache.reset(true);
                backoff = Duration::from_millis(100);
                // `try_recv` answers `None` when the connection is lost (notifications may have been missed).
                while let Ok(Some(n)) = listener.try_recv().await {
                    let change = if n.channel() == INCIDENT_CHANNEL {
                        n.payload()
                            .parse()
                            .map(|org| Change::Incidents { org: OrgId(org) })
                            .map_err(|e: uuid::Error| e.to_string())
                    } else {
                        serde_json::from_str::<Change>(n.payload()).map_err(|e| e.to_string())
                    };
                    match change {
                        Ok(change) => cache.forget(change),
                        Err(e) => {
                            tracing::warn!(error = %e, channel = n.channel(), "unreadable change notification; forgetting everything");
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
    listener.listen_all([CHANNEL, INCIDENT_CHANNEL]).await?;
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

    fn listening() -> ReadCache {
        let cache = ReadCache::new(Duration::from_secs(5), 1 << 20);
        cache.reset(true);
        cache
    }

    #[test]
    fn nothing_is_kept_while_not_listening() {
        let cache = ReadCache::new(Duration::from_secs(5), 1 << 20);
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
        let fill = |cache: &ReadCache| {
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
    fn pages_are_forgotten_by_organization_and_only_when_read_before_no_change() {
        let cache = listening();
        let (org, other) = (OrgId::new(), OrgId::new());
        let body = Bytes::from_static(b"{\"items\":[]}");
        cache.put_page(cache.page_ticket(), org, "q".into(), body.clone());
        cache.put_page(cache.page_ticket(), other, "q".into(), body.clone());
        assert_eq!(cache.page(org, "q"), Some(body.clone()));
        assert_eq!(cache.page(org, "another query"), None);

        // A change of the organization's incidents lands while a read is in flight: its page is not stored.
        let ticket = cache.page_ticket();
        cache.forget(Change::Incidents { org });
        assert_eq!(cache.page(org, "q"), None);
        assert_eq!(cache.page(other, "q"), Some(body.clone()));
        cache.put_page(ticket, org, "q".into(), body.clone());
        assert_eq!(cache.page(org, "q"), None);

        // Incident changes leave auth answers alone (and the other way round, but for an organization's end).
        let user = UserId::new();
        let role_ticket = cache.ticket();
        cache.forget(Change::Incidents { org: other });
        cache.put_role(role_ticket, org, user, Role::Member);
        assert_eq!(cache.role(org, user), Some(Role::Member));
        cache.put_page(cache.page_ticket(), org, "q".into(), body.clone());
        cache.forget(Change::Member { org, user });
        assert_eq!(cache.page(org, "q"), Some(body.clone()));
        cache.forget(Change::Org { org });
        assert_eq!(cache.page(org, "q"), None);

        // Off while not listening.
        cache.put_page(cache.page_ticket(), org, "q".into(), body.clone());
        cache.reset(false);
        assert!(cache.page_ticket().is_none());
        assert_eq!(cache.page(org, "q"), None);
    }

    #[test]
    fn pages_stay_within_their_budget() {
        let cache = ReadCache::new(Duration::from_secs(5), 8 * 1024);
        cache.reset(true);
        let org = OrgId::new();
        let page = Bytes::from(vec![b'x'; 1000]);
        // An eighth of the budget at most per page.
        cache.put_page(
            cache.page_ticket(),
            org,
            "big".into(),
            Bytes::from(vec![b'x'; 1100]),
        );
        assert_eq!(cache.page(org, "big"), None);
        for i in 0..9 {
            cache.put_page(cache.page_ticket(), org, format!("p{i}"), page.clone());
            assert!(cache.0.pages.entries.read().unwrap().bytes <= 8 * 1024);
        }
        // The ninth did not fit: the map was emptied, then it was stored.
        assert_eq!(cache.page(org, "p0"), None);
        assert_eq!(cache.page(org, "p8"), Some(page.clone()));
        // Storing a query again replaces its page, and forgetting gives the bytes back.
        cache.put_page(cache.page_ticket(), org, "p7".into(), page.clone());
        cache.put_page(cache.page_ticket(), org, "p7".into(), page.clone());
        assert_eq!(cache.0.pages.entries.read().unwrap().bytes, 1002 + 1002);
        cache.forget(Change::Incidents { org });
        assert_eq!(cache.0.pages.entries.read().unwrap().bytes, 0);
        // Without a budget nothing is kept.
        let none = ReadCache::new(Duration::from_secs(5), 0);
        none.reset(true);
        assert!(none.page_ticket().is_none());
    }

    #[test]
    fn entries_expire() {
        let cache = ReadCache::new(Duration::ZERO, 1 << 20);
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
