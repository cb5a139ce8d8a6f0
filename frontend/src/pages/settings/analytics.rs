//! The analytics tab of the settings: what counts as off-hours, sleep hours and noise — the time zone,
//! business hours per weekday, the night window, holidays and the noise threshold. Admins and owners edit
//! it; saving a change that moves past incidents between classes starts a recomputation, followed here.

use super::{SettingsHead, can, org_id};
use crate::api::{self, ApiFailure};
use crate::components::{ErrorBanner, Spinner, SubmitButton, field_error_under};
use crate::session::use_session;
use crate::time;
use insights_types::api::{
    AnalyticsSettings, ClockTime, JobRunOut, JobState, TimeRange, WeekHours,
};
use insights_types::{FieldError, JobRunId, Permission};
use leptos::prelude::*;
use std::time::Duration;

const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// One weekday's row of the form.
#[derive(Clone, Copy)]
struct DayRow {
    open: RwSignal<bool>,
    start: RwSignal<String>,
    end: RwSignal<String>,
}

/// The IANA time zones the browser knows (`Intl.supportedValuesOf`), with UTC first.
fn time_zones() -> Vec<String> {
    let mut zones: Vec<String> =
        js_sys::Intl::supported_values_of(js_sys::Intl::SupportedValuesKey::TimeZone)
            .iter()
            .map(String::from)
            .collect();
    if !zones.iter().any(|z| z == "UTC") {
        zones.insert(0, "UTC".to_owned());
    }
    zones
}

/// A time input's `HH:MM`; an end of `00:00` means midnight at the end of the day (`24:00`).
fn clock(v: &str, is_end: bool) -> Option<ClockTime> {
    let t = ClockTime::parse(v.get(..5).unwrap_or(v))?;
    if is_end && t.minutes() == 0 {
        ClockTime::from_minutes(24 * 60)
    } else {
        Some(t)
    }
}

/// What a time input shows of a clock time (`24:00` as `00:00`).
fn input_value(t: ClockTime) -> String {
    if t.minutes() == 24 * 60 {
        "00:00".to_owned()
    } else {
        t.to_string()
    }
}

fn day_of(w: &WeekHours, i: usize) -> Option<TimeRange> {
    w.day(u8::try_from(i + 1).unwrap_or(1))
}

fn set_day(w: &mut WeekHours, i: usize, r: Option<TimeRange>) {
    let slot = match i {
        0 => &mut w.monday,
        1 => &mut w.tuesday,
        2 => &mut w.wednesday,
        3 => &mut w.thursday,
        4 => &mut w.friday,
        5 => &mut w.saturday,
        _ => &mut w.sunday,
    };
    *slot = r;
}

/// `/orgs/:org/settings/analytics`.
#[component]
pub fn AnalyticsSettingsPage() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let may_edit = can(org, Permission::UpdateOrganization);
    let zone = RwSignal::new("UTC".to_owned());
    let days: [DayRow; 7] = std::array::from_fn(|_| DayRow {
        open: RwSignal::new(false),
        start: RwSignal::new("09:00".to_owned()),
        end: RwSignal::new("17:00".to_owned()),
    });
    let night_start = RwSignal::new("22:00".to_owned());
    let night_end = RwSignal::new("07:00".to_owned());
    let holidays = RwSignal::new(Vec::<chrono::NaiveDate>::new());
    let new_holiday = RwSignal::new(String::new());
    let noise = RwSignal::new("5".to_owned());
    let busy = RwSignal::new(false);
    let saved = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let job = RwSignal::new(None::<JobRunOut>);
    let zones = time_zones();

    let follow = move |id: JobRunId| {
        leptos::task::spawn_local(async move {
            loop {
                match api::jobs::get_job(session, org, id).await {
                    Ok(j) => {
                        let done = !j.state.is_active();
                        if job.try_set(Some(j)).is_some() || done {
                            break;
                        }
                    }
                    Err(_) => break,
                }
                time::sleep(Duration::from_millis(700)).await;
            }
        });
    };
    let fill = move |s: AnalyticsSettings| {
        zone.set(s.time_zone);
        for (i, row) in days.iter().enumerate() {
            let r = day_of(&s.business_hours, i);
            row.open.set(r.is_some());
            if let Some(r) = r {
                row.start.set(input_value(r.start));
                row.end.set(input_value(r.end));
            }
        }
        night_start.set(input_value(s.night.start));
        night_end.set(input_value(s.night.end));
        holidays.set(s.holidays);
        noise.set(s.noise_auto_resolve_minutes.to_string());
    };
    let detail =
        LocalResource::new(move || async move { api::analytics::settings(session, org).await });
    Effect::new(move |_| {
        if let Some(Ok(s)) = detail.get() {
            if let Some(id) = s.recompute_job_id {
                follow(id);
            }
            fill(s.settings);
        }
    });

    // The form's settings, or the fields the API would refuse (checked with the same rules first).
    let read = move || -> Result<AnalyticsSettings, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut week = WeekHours {
            monday: None,
            tuesday: None,
            wednesday: None,
            thursday: None,
            friday: None,
            saturday: None,
            sunday: None,
        };
        for (i, row) in days.iter().enumerate() {
            if !row.open.get_untracked() {
                continue;
            }
            let field = format!("business_hours.{}", DAYS[i]);
            match (
                clock(&row.start.get_untracked(), false),
                clock(&row.end.get_untracked(), true),
            ) {
                (Some(start), Some(end)) if start < end => {
                    set_day(&mut week, i, Some(TimeRange { start, end }))
                }
                (Some(_), Some(_)) => errors.push(FieldError::new(
                    field,
                    "invalid",
                    "The end must come after the start.",
                )),
                _ => errors.push(FieldError::new(field, "invalid", "Times are HH:MM.")),
            }
        }
        let night = match (
            clock(&night_start.get_untracked(), false),
            clock(&night_end.get_untracked(), false),
        ) {
            (Some(start), Some(end)) => Some(TimeRange { start, end }),
            _ => {
                errors.push(FieldError::new("night", "invalid", "Times are HH:MM."));
                None
            }
        };
        let minutes = match noise.get_untracked().trim().parse::<u32>() {
            Ok(m) if (1..=1440).contains(&m) => m,
            _ => {
                errors.push(FieldError::new(
                    "noise_auto_resolve_minutes",
                    "invalid",
                    "From 1 to 1440 minutes.",
                ));
                0
            }
        };
        match night {
            Some(night) if errors.is_empty() => Ok(AnalyticsSettings {
                time_zone: zone.get_untracked(),
                business_hours: week,
                night,
                holidays: holidays.get_untracked(),
                noise_auto_resolve_minutes: minutes,
            }),
            _ => Err(errors),
        }
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.set(false);
        let body = match read() {
            Ok(b) => b,
            Err(fields) => {
                error.set(Some(ApiFailure::invalid(fields)));
                return;
            }
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = api::analytics::update_settings(session, org, &body).await;
            let _ = busy.try_set(false);
            match r {
                Ok(out) => {
                    let _ = error.try_set(None);
                    let _ = saved.try_set(true);
                    if let Some(id) = out.recompute_job_id {
                        follow(id);
                    }
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    let add_holiday = move |_| {
        if let Some(d) = time::day_start(&new_holiday.get_untracked()).map(|t| t.date_naive()) {
            holidays.update(|h| {
                if !h.contains(&d) {
                    h.push(d);
                    h.sort();
                }
            });
            new_holiday.set(String::new());
        }
    };

    view! {
        <SettingsHead />
        <section class="card">
            <h2>"Analytics"</h2>
            <p class="muted">"What the dashboard counts as off-hours, sleep hours and noise. Incidents are read in this time zone; weekends without business hours and holidays are off-hours all day."</p>
            <Suspense fallback=|| view! { <Spinner /> }>
                {move || detail.get().map(|d| match d {
                    Err(e) => view! { <p class="banner error">{e.message()}</p> }.into_any(),
                    Ok(_) => {
                        let zones = zones.clone();
                        view! {
                            <form id="analytics-settings" on:submit=submit novalidate>
                                <fieldset class="group" disabled=move || !may_edit()>
                                    <legend>"Time zone"</legend>
                                    <div class="field">
                                        <label for="analytics-zone">"Time zone"</label>
                                        <select id="analytics-zone" on:change=move |ev| zone.set(event_target_value(&ev))
                                            aria-describedby="analytics-zone-error">
                                            {move || {
                                                let mut zones = zones.clone();
                                                let current = zone.get();
                                                if !zones.contains(&current) { zones.insert(0, current.clone()); }
                                                zones.into_iter().map(|z| {
                                                    let selected = z == current;
                                                    view! { <option value=z.clone() selected=selected>{z.replace('_', " ")}</option> }
                                                }).collect_view()
                                            }}
                                        </select>
                                        <p class="field-error" id="analytics-zone-error" role="alert">{field_error_under(error, "time_zone")}</p>
                                    </div>
                                </fieldset>
                                <fieldset class="group" disabled=move || !may_edit()>
                                    <legend>"Business hours"</legend>
                                    <p class="hint">"An end of 00:00 is midnight at the end of the day."</p>
                                    <div class="week-hours">
                                        {days.iter().enumerate().map(|(i, row)| {
                                            let row = *row;
                                            let name = DAYS[i];
                                            let label = format!("{}{}", name[..1].to_uppercase(), &name[1..]);
                                            view! {
                                                <div class="day-row" data-day=name>
                                                    <label class="day">
                                                        <input type="checkbox" id=format!("hours-{name}-open") prop:checked=move || row.open.get()
                                                            on:change=move |ev| row.open.set(event_target_checked(&ev)) />
                                                        {label.clone()}
                                                    </label>
                                                    <Show when=move || row.open.get() fallback=|| view! { <span class="muted closed">"Off-hours all day"</span> }>
                                                        <input type="time" id=format!("hours-{name}-start") aria-label=format!("{label} from")
                                                            prop:value=move || row.start.get() on:change=move |ev| row.start.set(event_target_value(&ev)) />
                                                        <span aria-hidden="true">"–"</span>
                                                        <input type="time" id=format!("hours-{name}-end") aria-label=format!("{label} until")
                                                            prop:value=move || row.end.get() on:change=move |ev| row.end.set(event_target_value(&ev)) />
                                                    </Show>
                                                    <p class="field-error" role="alert">{field_error_under(error, format!("business_hours.{name}"))}</p>
                                                </div>
                                            }
                                        }).collect_view()}
                                    </div>
                                </fieldset>
                                <fieldset class="group" disabled=move || !may_edit()>
                                    <legend>"Sleep hours"</legend>
                                    <div class="inline-form">
                                        <div class="field">
                                            <label for="night-start">"Night from"</label>
                                            <input type="time" id="night-start" prop:value=move || night_start.get()
                                                on:change=move |ev| night_start.set(event_target_value(&ev)) />
                                        </div>
                                        <div class="field">
                                            <label for="night-end">"until"</label>
                                            <input type="time" id="night-end" prop:value=move || night_end.get()
                                                on:change=move |ev| night_end.set(event_target_value(&ev)) />
                                        </div>
                                    </div>
                                    <p class="field-error" role="alert">{field_error_under(error, "night")}</p>
                                </fieldset>
                                <fieldset class="group" disabled=move || !may_edit()>
                                    <legend>"Holidays"</legend>
                                    <ul class="holidays">
                                        {move || holidays.get().into_iter().map(|d| view! {
                                            <li data-date=d.to_string()>{d.to_string()}
                                                <button type="button" class="btn ghost small" on:click=move |_| holidays.update(|h| h.retain(|x| *x != d))>
                                                    "×"<span class="sr-only">{format!(" Remove {d}")}</span>
                                                </button>
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                    <div class="inline-form">
                                        <div class="field">
                                            <label for="holiday-new">"Add a day"</label>
                                            <input type="date" id="holiday-new" prop:value=move || new_holiday.get()
                                                on:change=move |ev| new_holiday.set(event_target_value(&ev)) />
                                        </div>
                                        <button type="button" class="btn" id="holiday-add" on:click=add_holiday>"Add"</button>
                                    </div>
                                    <p class="field-error" role="alert">{field_error_under(error, "holidays")}</p>
                                </fieldset>
                                <fieldset class="group" disabled=move || !may_edit()>
                                    <legend>"Noise"</legend>
                                    <div class="field">
                                        <label for="noise-minutes">"Auto-resolved within (minutes), unacknowledged"</label>
                                        <input type="number" id="noise-minutes" min="1" max="1440" prop:value=move || noise.get()
                                            on:input=move |ev| noise.set(event_target_value(&ev))
                                            aria-describedby="noise-minutes-error" />
                                        <p class="field-error" id="noise-minutes-error" role="alert">{field_error_under(error, "noise_auto_resolve_minutes")}</p>
                                    </div>
                                </fieldset>
                                <ErrorBanner error=error.into() />
                                <Show when=move || may_edit() fallback=|| view! { <p class="muted">"Admins and owners can change these."</p> }>
                                    <SubmitButton label="Save" busy_label="Saving…" busy=busy.into() />
                                </Show>
                                <Show when=move || saved.get()><p class="ok" role="status">"Saved."</p></Show>
                            </form>
                        }.into_any()
                    }
                })}
            </Suspense>
            {move || job.get().map(|j| {
                let total = j.progress["total"].as_u64().unwrap_or(0);
                let done = j.progress["processed"].as_u64().unwrap_or(0);
                let pct = (done * 100).checked_div(total).unwrap_or(0);
                view! {
                    <div class="job recompute" role="status">
                        <progress max="100" value=pct.to_string() aria-label="Recomputing the analytics"></progress>
                        <p>{match j.state {
                            JobState::Succeeded => "The analytics are recomputed with these settings.".to_owned(),
                            JobState::Failed => format!("Recomputing failed: {}", j.last_error.clone().unwrap_or_default()),
                            _ => format!("Recomputing the analytics — {done} of {total}"),
                        }}</p>
                    </div>
                }
            })}
        </section>
    }
}
