//! An integration's settings: name, sync interval, what to import, region (Opsgenie), and a replacement key
//! (checked by the API before it replaces the old one). Only what changed is sent.

use super::connect::{parse_interval, parse_since};
use super::{Board, options_since, split_ids};
use crate::api::ApiFailure;
use crate::components::{ErrorBanner, SubmitButton, TextField, field_error, field_error_under};
use crate::time;
use insights_types::IntegrationId;
use insights_types::api::{
    IntegrationKind, IntegrationOptions, IntegrationPatch, OpsgenieOptions, OpsgenieRegion,
    PagerDutyOptions,
};
use insights_types::domain::{
    ApiSecret, FieldErrors, Name, check_opsgenie_options, check_pagerduty_options,
};
use leptos::prelude::*;

/// The settings form of one integration; `close` folds its panel.
#[component]
pub fn SettingsForm(
    board: Board,
    id: IntegrationId,
    #[prop(into)] close: Callback<()>,
) -> impl IntoView {
    let Some(start) = board.get(id).get_untracked() else {
        return ().into_any();
    };
    let kind = start.kind;
    let (services0, teams0, query0, statuses, author0) = match &start.options {
        IntegrationOptions::Pagerduty(p) => (
            p.service_ids.join(", "),
            p.team_ids.join(", "),
            String::new(),
            p.statuses.clone(),
            p.note_author_email.clone().unwrap_or_default(),
        ),
        IntegrationOptions::Opsgenie(o) => (
            String::new(),
            String::new(),
            o.query.clone().unwrap_or_default(),
            Vec::new(),
            String::new(),
        ),
    };
    let since0 = options_since(&start.options)
        .map(time::date_value)
        .unwrap_or_default();
    let name = RwSignal::new(start.name.clone());
    let interval = RwSignal::new(start.sync_interval_minutes.to_string());
    let since = RwSignal::new(since0.clone());
    let services = RwSignal::new(services0.clone());
    let author = RwSignal::new(author0.clone());
    let teams = RwSignal::new(teams0.clone());
    let query = RwSignal::new(query0.clone());
    let region = RwSignal::new(start.region.unwrap_or(OpsgenieRegion::Us));
    let key = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let saved = RwSignal::new(None::<String>);
    let key_name = match kind {
        IntegrationKind::Pagerduty => "api_token",
        IntegrationKind::Opsgenie => "api_key",
    };
    let p = |s: &str| format!("{s}-{id}");

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.set(None);
        let mut errors = FieldErrors::default();
        let mut patch = IntegrationPatch::default();
        let new_name = name.get_untracked();
        if new_name.trim() != start.name {
            errors.check(Name::parse_field("name", &new_name));
            patch.name = Some(new_name.trim().to_owned());
        }
        if let Some(m) = parse_interval(&interval.get_untracked(), &mut errors)
            && m != start.sync_interval_minutes
        {
            patch.sync_interval_minutes = Some(m);
        }
        let options_changed = since.get_untracked() != since0
            || services.get_untracked() != services0
            || author.get_untracked() != author0
            || teams.get_untracked() != teams0
            || query.get_untracked() != query0;
        if options_changed {
            let since = parse_since(&since.get_untracked(), &mut errors);
            let value = match kind {
                IntegrationKind::Pagerduty => {
                    let o = PagerDutyOptions {
                        since,
                        service_ids: split_ids(&services.get_untracked()),
                        team_ids: split_ids(&teams.get_untracked()),
                        statuses: statuses.clone(),
                        note_author_email: Some(author.get_untracked().trim().to_owned())
                            .filter(|a| !a.is_empty()),
                    };
                    check_pagerduty_options("options", &o, time::now(), &mut errors);
                    serde_json::to_value(o)
                }
                IntegrationKind::Opsgenie => {
                    let q = query.get_untracked().trim().to_owned();
                    let o = OpsgenieOptions {
                        since,
                        query: (!q.is_empty()).then_some(q),
                    };
                    check_opsgenie_options("options", &o, time::now(), &mut errors);
                    serde_json::to_value(o)
                }
            };
            patch.options = value.ok();
        }
        if kind == IntegrationKind::Opsgenie && Some(region.get_untracked()) != start.region {
            patch.region = Some(region.get_untracked());
        }
        let new_key = key.get_untracked();
        if !new_key.trim().is_empty() {
            errors.check(ApiSecret::parse_field(
                &format!("credentials.{key_name}"),
                &new_key,
            ));
            patch.credentials = Some(serde_json::json!({ key_name: new_key.trim() }));
        }
        if let Err(fields) = errors.finish() {
            error.set(Some(ApiFailure::invalid(fields)));
            return;
        }
        error.set(None);
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = board.patch(id, &patch).await;
            let _ = busy.try_set(false);
            match r {
                Ok(_) => {
                    key.set(String::new());
                    saved.set(Some(if options_changed {
                        "Saved. The new import options apply from the next sync; to apply them to the history already imported, run a Full re-import.".to_owned()
                    } else {
                        "Saved.".to_owned()
                    }));
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };

    let specific = match kind {
        IntegrationKind::Pagerduty => view! {
            <TextField id=p("settings-services") label="Only these services" value=services
                hint="PagerDuty service ids, separated by commas. Empty: every service."
                error=field_error_under(error, "options.service_ids") />
            <TextField id=p("settings-teams") label="Only these teams" value=teams
                hint="PagerDuty team ids, separated by commas. Empty: every team."
                error=field_error_under(error, "options.team_ids") />
            <TextField id=p("settings-note-author") label="Note author email" value=author
                hint="The email of a PagerDuty user that notes posted by automations are written as (needed with an account API key)."
                error=field_error_under(error, "options.note_author_email") />
        }
        .into_any(),
        IntegrationKind::Opsgenie => {
            let region_id = p("settings-region");
            view! {
                <div class="field">
                    <label for=region_id.clone()>"Region"</label>
                    <select id=region_id on:change=move |ev| {
                        if let Some(r) = OpsgenieRegion::parse(&event_target_value(&ev)) { region.set(r) }
                    }>
                        <option value="us" selected=move || region.get() == OpsgenieRegion::Us>"US (app.opsgenie.com)"</option>
                        <option value="eu" selected=move || region.get() == OpsgenieRegion::Eu>"EU (app.eu.opsgenie.com)"</option>
                    </select>
                    <p class="field-error" role="alert">{move || error.get().and_then(|e| e.field("region"))}</p>
                </div>
                <TextField id=p("settings-query") label="Only alerts matching" value=query
                    hint="An Opsgenie search query. Empty: every alert."
                    error=field_error(error, "options.query") />
            }
            .into_any()
        }
    };
    view! {
        <form class="settings-form" on:submit=submit novalidate>
            <TextField id=p("settings-name") label="Name" value=name required=true error=field_error(error, "name") />
            <TextField id=p("settings-interval") label="Sync every (minutes)" value=interval kind="number"
                hint="Between 1 and 1440." error=field_error(error, "sync_interval_minutes") />
            <TextField id=p("settings-since") label="Import incidents since" value=since kind="date"
                hint="Empty: the whole history." error=field_error(error, "options.since") />
            {specific}
            <TextField id=p("settings-key") label="Replace the API key" value=key kind="password" autocomplete="off"
                hint="Leave empty to keep the current key. A new key is checked before it replaces the old one."
                error=field_error_under(error, format!("credentials.{key_name}")) />
            <ErrorBanner error=error.into() />
            {move || saved.get().map(|m| view! { <p class="banner success" role="status">{m}</p> })}
            <div class="actions">
                <button type="button" class="btn" on:click=move |_| close.run(())>"Close"</button>
                <SubmitButton label="Save settings" busy_label="Saving…" busy=busy.into() />
            </div>
        </form>
    }
    .into_any()
}
