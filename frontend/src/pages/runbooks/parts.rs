//! What the runbook pages share: a step with its risk badge, its command to copy and its expected result;
//! a search hit's snippet with the matched words highlighted; a link to where a retrieved source came from
//! (a runbook version's step, or an incident); names of a runbook's origin and of a step's risk.

use insights_types::OrgId;
use insights_types::api::{
    CommandLanguage, RunbookOrigin, RunbookSearchHitOut, RunbookStep, SnippetPartOut, SourceKind,
    SourceRefOut, StepRisk,
};
use leptos::prelude::*;
use leptos_router::components::A;

/// A step's risk for people: (CSS class, label, what it means).
#[must_use]
pub fn risk(r: StepRisk) -> (&'static str, &'static str, &'static str) {
    match r {
        StepRisk::ReadOnly => (
            "read-only",
            "Read-only",
            "only reads: logs, status, metrics",
        ),
        StepRisk::ChangesState => (
            "changes-state",
            "Changes state",
            "changes something that can be changed back",
        ),
        StepRisk::Destructive => (
            "destructive",
            "Destructive",
            "loses data or cannot be undone",
        ),
    }
}

/// Every risk: (value in forms, risk).
pub const RISKS: [(&str, StepRisk); 3] = [
    ("read_only", StepRisk::ReadOnly),
    ("changes_state", StepRisk::ChangesState),
    ("destructive", StepRisk::Destructive),
];

/// Every command language: (value in forms, label, language).
pub const LANGUAGES: [(&str, &str, CommandLanguage); 4] = [
    ("shell", "Shell", CommandLanguage::Shell),
    ("kubectl", "kubectl", CommandLanguage::Kubectl),
    ("aws", "AWS CLI", CommandLanguage::Aws),
    ("sql", "SQL", CommandLanguage::Sql),
];

/// A language's form value and label.
#[must_use]
pub fn language(l: CommandLanguage) -> (&'static str, &'static str) {
    LANGUAGES
        .iter()
        .find(|x| x.2 == l)
        .map_or(("shell", "Shell"), |x| (x.0, x.1))
}

/// Where a runbook came from, for people.
#[must_use]
pub fn origin(o: RunbookOrigin) -> &'static str {
    match o {
        RunbookOrigin::Written => "written",
        RunbookOrigin::Generated => "generated",
        RunbookOrigin::Imported => "imported",
    }
}

/// The risk badge of a step.
#[component]
pub fn RiskBadge(risk: StepRisk) -> impl IntoView {
    let (class, label, what) = self::risk(risk);
    view! { <span class=format!("pill risk {class}") title=what data-risk=class>{label}</span> }
}

/// A command, with its language and a button that copies it (it is never run here).
#[component]
pub fn CommandBlock(language: CommandLanguage, text: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let (value, label) = self::language(language);
    let copy = {
        let text = text.clone();
        move |_| {
            if let Some(w) = web_sys::window() {
                let _ = w.navigator().clipboard().write_text(&text);
                copied.set(true);
            }
        }
    };
    view! {
        <div class="command" data-lang=value>
            <div class="command-head">
                <span class="command-lang">{label}</span>
                <button type="button" class="btn small copy" on:click=copy>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                    <span class="sr-only">" the command"</span>
                </button>
            </div>
            <pre><code>{text}</code></pre>
        </div>
    }
}

/// One step: number, title, risk, why, command, expected result; `children` adds what a caller shows with
/// it (a draft's citations and warnings).
#[component]
pub fn StepView(
    n: usize,
    step: RunbookStep,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <li class="step" id=format!("step-{n}") data-risk=self::risk(step.risk).0>
            <div class="step-head">
                <h3 class="step-title"><span class="step-n">{format!("{n}. ")}</span>{step.title.clone()}</h3>
                <RiskBadge risk=step.risk />
            </div>
            {(!step.why.is_empty()).then(|| view! { <p class="step-why">{step.why.clone()}</p> })}
            {step.command.clone().map(|c| view! { <CommandBlock language=c.language text=c.text /> })}
            {step.expected.clone().filter(|e| !e.is_empty()).map(|e| view! {
                <p class="step-expected"><span class="muted">"Expected: "</span>{e}</p>
            })}
            {children.map(|c| c())}
        </li>
    }
}

/// The address of a source: a runbook at the version and step it came from, or the incident (with the
/// timeline entry in the fragment).
#[must_use]
pub fn source_href(org: OrgId, s: &SourceRefOut) -> Option<String> {
    match s.kind {
        SourceKind::Runbook => s.runbook_id.map(|id| {
            let version = s
                .runbook_version
                .map(|v| format!("?version={v}"))
                .unwrap_or_default();
            let step = s
                .step
                .map(|n| format!("#step-{}", n + 1))
                .unwrap_or_default();
            format!("/orgs/{org}/runbooks/{id}{version}{step}")
        }),
        SourceKind::PastFix => s.incident_id.map(|id| {
            let event = s
                .event_id
                .map(|e| format!("#event-{e}"))
                .unwrap_or_default();
            format!("/orgs/{org}/incidents/{id}{event}")
        }),
    }
}

/// What a source is, for people: "Runbook “Disk full”, version 3, step 2" or "Incident #42 “…”".
#[must_use]
pub fn source_label(s: &SourceRefOut) -> String {
    match s.kind {
        SourceKind::Runbook => {
            let mut out = format!("Runbook “{}”", s.title);
            if let Some(v) = s.runbook_version {
                out.push_str(&format!(", version {v}"));
            }
            if let Some(n) = s.step {
                out.push_str(&format!(", step {}", n + 1));
            }
            out
        }
        SourceKind::PastFix => match s.incident_number {
            Some(n) => format!("Incident #{n} “{}”", s.title),
            None => format!("Incident “{}”", s.title),
        },
    }
}

/// A link to a source (text when it has no address).
#[component]
pub fn SourceLink(org: OrgId, source: SourceRefOut) -> impl IntoView {
    let label = source_label(&source);
    let kind = match source.kind {
        SourceKind::Runbook => "runbook",
        SourceKind::PastFix => "past-fix",
    };
    match source_href(org, &source) {
        Some(href) => {
            view! { <A href=href attr:class="source-link" attr:data-kind=kind>{label}</A> }
                .into_any()
        }
        None => view! { <span class="source-link" data-kind=kind>{label}</span> }.into_any(),
    }
}

/// A snippet with its matched words marked.
#[component]
pub fn Snippet(parts: Vec<SnippetPartOut>) -> impl IntoView {
    view! {
        <p class="snippet">
            {parts.into_iter().map(|p| if p.highlight {
                view! { <mark>{p.text}</mark> }.into_any()
            } else {
                p.text.into_any()
            }).collect_view()}
        </p>
    }
}

/// One search hit: its source, heading and snippet.
#[component]
pub fn SearchHit(org: OrgId, hit: RunbookSearchHitOut) -> impl IntoView {
    let kind = match hit.source.kind {
        SourceKind::Runbook => "Runbook",
        SourceKind::PastFix => "Past fix",
    };
    view! {
        <li class="hit">
            <div class="hit-head">
                <span class="pill kind">{kind}</span>
                <SourceLink org=org source=hit.source.clone() />
                {hit.source.heading.clone().map(|h| view! { <span class="muted hit-heading">{format!(" — {h}")}</span> })}
            </div>
            <Snippet parts=hit.snippet />
        </li>
    }
}
