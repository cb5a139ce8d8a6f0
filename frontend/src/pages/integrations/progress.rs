//! How a sync is going, for people: the status badge of an integration and the live progress of its current
//! (or last) sync — percent, pages, incidents read and stored, errors with their sentences, time left.

use crate::time;
use insights_types::api::{IntegrationStatus, JobState, SyncMode, SyncRunOut};
use leptos::prelude::*;

/// The badge of a status: its words and its colour class.
#[must_use]
pub fn status_badge(s: IntegrationStatus) -> (&'static str, &'static str) {
    match s {
        IntegrationStatus::Backfilling => ("Importing history", "pill info"),
        IntegrationStatus::Syncing => ("Syncing", "pill info"),
        IntegrationStatus::Active => ("Up to date", "pill good"),
        IntegrationStatus::Failing => ("Failing", "pill bad"),
        IntegrationStatus::Paused => ("Paused", "pill warn"),
        IntegrationStatus::Deleting => ("Deleting", "pill warn"),
    }
}

fn what(mode: SyncMode) -> &'static str {
    match mode {
        SyncMode::Backfill => "Importing the history",
        SyncMode::Incremental => "Syncing changes",
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// One line of counts: "3 pages · 300 incidents read · 300 stored · 900 timeline entries · 0 errors".
fn counts(r: &SyncRunOut) -> String {
    let p = &r.progress;
    [
        plural(p.pages, "page", "pages"),
        format!("{} read", plural(p.fetched, "incident", "incidents")),
        format!("{} stored", p.stored),
        plural(p.events, "timeline entry", "timeline entries"),
        plural(p.errors, "error", "errors"),
    ]
    .join(" · ")
}

/// What a screen reader hears: changes only every tenth of the way, not on every poll.
fn announcement(r: &SyncRunOut) -> String {
    let p = &r.progress;
    match r.state {
        s if s.is_active() => match p.percent {
            Some(pct) => format!("{}: {}% done", what(r.mode), (pct / 10.0).floor() * 10.0),
            None => format!("{}…", what(r.mode)),
        },
        JobState::Succeeded => format!("Sync finished: {} stored.", p.stored),
        JobState::Cancelled => "Sync cancelled.".to_owned(),
        _ => "Sync failed.".to_owned(),
    }
}

/// The running sync with a progress bar, or a summary of the last one. Its screen-reader announcement is a
/// polite live region that stays in place while the rest re-renders.
#[component]
pub fn SyncProgress(run: Signal<Option<SyncRunOut>>) -> impl IntoView {
    view! {
        <div class="sync">
            <p class="sr-only" role="status" aria-live="polite">
                {move || run.get().map(|r| announcement(&r))}
            </p>
            {move || run.get().map(|r| if r.state.is_active() { running(r) } else { ended(r) })}
        </div>
    }
}

fn running(r: SyncRunOut) -> AnyView {
    let p = r.progress.clone();
    let pct = p.percent.map(|v| v.clamp(0.0, 100.0));
    let head = match (r.state, r.started_at) {
        (JobState::Queued, _) | (_, None) => "Waiting for a worker…".to_owned(),
        (JobState::Retrying, _) => format!("{} — retrying after an error", what(r.mode)),
        _ => match &p.phase {
            Some(phase) => format!("{} — reading {phase}", what(r.mode)),
            None => what(r.mode).to_owned(),
        },
    };
    let left = p
        .eta_seconds
        .map(|s| format!(" · about {} left", time::duration(s)))
        .unwrap_or_default();
    view! {
        <div class="sync-progress" data-state=r.state.as_str()>
            <div class="sync-line">
                <strong>{head}</strong>
                <span class="sync-percent">{pct.map(|v| format!("{v:.0}%"))}</span>
            </div>
            <progress max="100" value=pct.map(|v| format!("{v:.1}")) aria-label=what(r.mode)></progress>
            <p class="sync-stats">{counts(&r)}{left}</p>
            <RecentErrors errors=p.recent_errors.clone() total=p.errors />
            {r.last_error.clone().map(|e| view! { <p class="sync-error">{format!("Last attempt failed: {e}")}</p> })}
        </div>
    }
    .into_any()
}

fn ended(r: SyncRunOut) -> AnyView {
    let at = r
        .finished_at
        .map(|t| format!(" at {}", time::when(t)))
        .unwrap_or_default();
    let mode = match r.mode {
        SyncMode::Backfill => "History import",
        SyncMode::Incremental => "Last sync",
    };
    let (class, line) = match r.state {
        JobState::Succeeded => (
            "sync-summary",
            format!("{mode} finished{at}: {}.", counts(&r)),
        ),
        JobState::Cancelled => (
            "sync-summary",
            format!(
                "{mode} was cancelled{at}; {} stored before it stopped.",
                plural(r.progress.stored, "incident", "incidents")
            ),
        ),
        _ => (
            "sync-summary failed",
            format!(
                "{mode} failed{at}: {}",
                r.last_error
                    .clone()
                    .unwrap_or_else(|| "no reason given".into())
            ),
        ),
    };
    view! {
        <div class=class data-state=r.state.as_str()>
            <p>{line}</p>
            <RecentErrors errors=r.progress.recent_errors.clone() total=r.progress.errors />
        </div>
    }
    .into_any()
}

/// The sentences of the last few items that could not be read.
#[component]
fn RecentErrors(errors: Vec<String>, total: u64) -> impl IntoView {
    (total > 0 && !errors.is_empty()).then(|| {
        view! {
            <div class="recent-errors">
                <p>{format!("{} could not be read (the rest went on). The latest:", plural(total, "item", "items"))}</p>
                <ul>{errors.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
            </div>
        }
    })
}
