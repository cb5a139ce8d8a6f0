//! The summary tiles (each figure against the previous period) and the noise panel.

use super::top::read_top;
use super::*;

/// The change from `prev` to `now` in words, and whether it is good news (`lower_is_better` for durations).
fn change(
    now: Option<f64>,
    prev: Option<f64>,
    lower_is_better: bool,
) -> Option<(String, &'static str)> {
    let (now, prev) = (now?, prev?);
    if prev == 0.0 {
        return (now > 0.0).then(|| ("new".to_owned(), "flat"));
    }
    let pct = (now - prev) / prev * 100.0;
    if pct.abs() < 0.5 {
        return Some(("no change".to_owned(), "flat"));
    }
    let better = (pct < 0.0) == lower_is_better;
    let arrow = if pct > 0.0 { "▲" } else { "▼" };
    Some((
        format!("{arrow} {:.0}%", pct.abs()),
        if better { "good" } else { "bad" },
    ))
}

fn tile(
    label: &'static str,
    value: String,
    detail: Option<String>,
    delta: Option<(String, &'static str)>,
    href: Option<String>,
) -> impl IntoView {
    let value = match href {
        Some(h) => view! { <A href=h attr:class="tile-value">{value}</A> }.into_any(),
        None => view! { <span class="tile-value">{value}</span> }.into_any(),
    };
    view! {
        <div class="tile" data-tile=label>
            <p class="tile-label">{label}</p>
            {value}
            {detail.map(|d| view! { <p class="tile-detail muted">{d}</p> })}
            {delta.map(|(t, class)| view! {
                <p class=format!("tile-delta {class}")>{t}<span class="muted">" vs previous period"</span></p>
            })}
        </div>
    }
}

fn summary_rows(s: &AnalyticsSummaryOut) -> Vec<Vec<String>> {
    let p = s.previous.as_ref().map(|p| p.totals);
    let row = |name: &str, f: &dyn Fn(&PeriodTotals) -> Option<f64>| {
        vec![
            name.to_owned(),
            f(&s.totals).map(|v| v.to_string()).unwrap_or_default(),
            p.as_ref()
                .and_then(f)
                .map(|v| v.to_string())
                .unwrap_or_default(),
        ]
    };
    vec![
        row("incidents", &|t| Some(t.count as f64)),
        row("acknowledged", &|t| Some(t.acknowledged as f64)),
        row("resolved", &|t| Some(t.resolved as f64)),
        row("mtta_mean_seconds", &|t| t.mtta_seconds.mean),
        row("mtta_p50_seconds", &|t| t.mtta_seconds.p50),
        row("mtta_p90_seconds", &|t| t.mtta_seconds.p90),
        row("mttr_mean_seconds", &|t| t.mttr_seconds.mean),
        row("mttr_p50_seconds", &|t| t.mttr_seconds.p50),
        row("mttr_p90_seconds", &|t| t.mttr_seconds.p90),
        row("off_hours", &|t| Some(t.off_hours.count as f64)),
        row("off_hours_share", &|t| t.off_hours.share),
        row("sleep_hours", &|t| Some(t.sleep_hours.count as f64)),
        row("sleep_hours_share", &|t| t.sleep_hours.share),
        row("noise_auto_resolved", &|t| {
            Some(t.noise.auto_resolved as f64)
        }),
        row("noise_never_acknowledged", &|t| {
            Some(t.noise.never_acknowledged as f64)
        }),
        row("noise_repeats", &|t| Some(t.noise.repeats as f64)),
    ]
}

/// Reads the view's summary (and fills the CSV).
fn summary_resource(
    ctx: Ctx,
    csv_out: RwSignal<Option<String>>,
) -> LocalResource<api::ApiResult<(View, AnalyticsSummaryOut)>> {
    LocalResource::new(move || {
        let v = ctx.view.get();
        async move {
            let s =
                api::analytics::summary(ctx.session, ctx.org, &v.period.api_pairs(&v.q)).await?;
            let _ = csv_out.try_set(Some(csv_text(
                &["figure", "period", "previous_period"],
                summary_rows(&s),
            )));
            Ok((v, s))
        }
    })
}

#[component]
pub(super) fn SummaryBody(ctx: Ctx, csv: RwSignal<Option<String>>) -> impl IntoView {
    let data = summary_resource(ctx, csv);
    move || {
        state(data.get(), |(v, s)| {
            let t = s.totals;
            let p = s.previous.as_ref().map(|p| p.totals);
            let all = drill_href(ctx.org, &v.q, v.period, None);
            let dur = |d: insights_types::api::DurationStats| {
                d.mean.map_or_else(|| "—".to_owned(), fmt_secs)
            };
            let pcts = |d: insights_types::api::DurationStats| match (d.p50, d.p90) {
                (Some(a), Some(b)) => Some(format!("p50 {} · p90 {}", fmt_secs(a), fmt_secs(b))),
                _ => None,
            };
            let noise = |t: &PeriodTotals| {
                (t.noise.auto_resolved + t.noise.never_acknowledged + t.noise.repeats) as f64
            };
            view! {
                <div class="tiles">
                    {tile("Incidents", t.count.to_string(), Some(format!("{} acknowledged · {} resolved", t.acknowledged, t.resolved)),
                        change(Some(t.count as f64), p.map(|p| p.count as f64), true), Some(all))}
                    {tile("MTTA", dur(t.mtta_seconds), pcts(t.mtta_seconds),
                        change(t.mtta_seconds.mean, p.and_then(|p| p.mtta_seconds.mean), true), None)}
                    {tile("MTTR", dur(t.mttr_seconds), pcts(t.mttr_seconds),
                        change(t.mttr_seconds.mean, p.and_then(|p| p.mttr_seconds.mean), true), None)}
                    {tile("Off-hours", fmt_share(t.off_hours.share), Some(format!("{} incidents", t.off_hours.count)),
                        change(Some(t.off_hours.count as f64), p.map(|p| p.off_hours.count as f64), true), None)}
                    {tile("Sleep hours", fmt_share(t.sleep_hours.share), Some(format!("{} incidents", t.sleep_hours.count)),
                        change(Some(t.sleep_hours.count as f64), p.map(|p| p.sleep_hours.count as f64), true), None)}
                    {tile("Noise", fmt_count(noise(&t)), Some(format!("{} auto-resolved · {} never acked · {} repeats",
                            t.noise.auto_resolved, t.noise.never_acknowledged, t.noise.repeats)),
                        change(Some(noise(&t)), p.as_ref().map(noise), true), None)}
                </div>
            }
            .into_any()
        })
    }
}

#[component]
pub(super) fn NoiseBody(ctx: Ctx, csv: RwSignal<Option<String>>) -> impl IntoView {
    let data = LocalResource::new(move || {
        let v = ctx.view.get();
        async move {
            let pairs = v.period.api_pairs(&v.q);
            let (s, t) = futures::join!(
                api::analytics::summary(ctx.session, ctx.org, &pairs),
                read_top(ctx, &v, TopDimension::Service, "noise", SortOrder::Desc, 5)
            );
            let (s, t) = (s?, t?);
            let n = s.totals.noise;
            let p = s.previous.as_ref().map(|p| p.totals.noise);
            let mut rows = vec![
                vec![
                    "auto_resolved".to_owned(),
                    n.auto_resolved.to_string(),
                    p.map(|p| p.auto_resolved.to_string()).unwrap_or_default(),
                ],
                vec![
                    "never_acknowledged".to_owned(),
                    n.never_acknowledged.to_string(),
                    p.map(|p| p.never_acknowledged.to_string())
                        .unwrap_or_default(),
                ],
                vec![
                    "repeats".to_owned(),
                    n.repeats.to_string(),
                    p.map(|p| p.repeats.to_string()).unwrap_or_default(),
                ],
            ];
            rows.extend(t.rows.iter().map(|r| {
                vec![
                    format!("service:{}", r.label),
                    r.noise.to_string(),
                    String::new(),
                ]
            }));
            let _ = csv.try_set(Some(csv_text(&["kind", "count", "previous_period"], rows)));
            Ok((v, s, t))
        }
    });
    move || {
        state(data.get(), |(v, s, t)| {
            let total = s.totals.count.max(1) as f64;
            let n = s.totals.noise;
            let p = s.previous.as_ref().map(|p| p.totals.noise);
            let kinds = [
                (
                    "Auto-resolved unacknowledged",
                    n.auto_resolved,
                    p.map(|p| p.auto_resolved),
                ),
                (
                    "Never acknowledged",
                    n.never_acknowledged,
                    p.map(|p| p.never_acknowledged),
                ),
                ("Repeats within an hour", n.repeats, p.map(|p| p.repeats)),
            ];
            view! {
                <ul class="noise-kinds">
                    {kinds.into_iter().map(|(label, count, prev)| {
                        let share = count as f64 / total;
                        let delta = change(Some(count as f64), prev.map(|p| p as f64), true);
                        view! {
                            <li data-noise=label>
                                <div class="noise-line"><span>{label}</span>
                                    <strong>{format!("{count} ({:.0}%)", share * 100.0)}</strong></div>
                                <div class="meter" aria-hidden="true"><span style=format!("width:{:.1}%", share * 100.0)></span></div>
                                {delta.map(|(t, class)| view! { <p class=format!("tile-delta {class}")>{t}<span class="muted">" vs previous period"</span></p> })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
                <h3 class="noise-top">"Noisiest services"</h3>
                <ol class="noise-services">
                    {t.rows.into_iter().filter(|r| r.noise > 0).map(|r| {
                        let href = drillable_key(&r.key).then(|| drill_href(ctx.org, &v.q, v.period, Some(("service", r.key.as_str()))));
                        view! {
                            <li>{match href {
                                Some(h) => view! { <A href=h>{r.label.clone()}</A> }.into_any(),
                                None => view! { <span>{r.label.clone()}</span> }.into_any(),
                            }}{format!(" — {} of {} incidents", r.noise, r.count)}</li>
                        }
                    }).collect_view()}
                </ol>
            }
            .into_any()
        })
    }
}
