//! The top services, teams or patterns, sortable by any column, with their sparklines.

use super::*;
use crate::pages::dashboard::charts::Sparkline;

const TOP_COLUMNS: [(TopSort, &str, &str); 5] = [
    (TopSort::Count, "count", "Incidents"),
    (TopSort::Mtta, "mtta", "MTTA"),
    (TopSort::Mttr, "mttr", "MTTR"),
    (TopSort::OffHours, "off_hours", "Off-hours"),
    (TopSort::Noise, "noise", "Noise"),
];

fn top_csv(t: &TopOut) -> String {
    csv_text(
        &[
            "key",
            "label",
            "count",
            "mtta_seconds",
            "mttr_seconds",
            "off_hours",
            "noise",
            "sparkline",
        ],
        t.rows.iter().map(|r| {
            vec![
                r.key.clone(),
                r.label.clone(),
                r.count.to_string(),
                opt(r.mtta_seconds),
                opt(r.mttr_seconds),
                r.off_hours.to_string(),
                r.noise.to_string(),
                r.sparkline
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
        }),
    )
}

pub(super) async fn read_top(
    ctx: Ctx,
    v: &View,
    dimension: TopDimension,
    sort: &str,
    order: SortOrder,
    limit: u32,
) -> api::ApiResult<TopOut> {
    let dim = dimension_param(dimension);
    let order = if order == SortOrder::Asc {
        "asc"
    } else {
        "desc"
    };
    let extra = vec![
        format!("dimension={dim}"),
        format!("sort={sort}"),
        format!("order={order}"),
        format!("limit={limit}"),
    ];
    api::analytics::top(ctx.session, ctx.org, &v.period.api_pairs(&v.q), &extra).await
}

fn sort_param(s: TopSort) -> &'static str {
    TOP_COLUMNS
        .iter()
        .find(|c| c.0 == s)
        .map_or("count", |c| c.1)
}

#[component]
pub(super) fn TopBody(
    ctx: Ctx,
    layout: Layout,
    id: String,
    dimension: TopDimension,
    sort: TopSort,
    csv: RwSignal<Option<String>>,
) -> impl IntoView {
    let order = RwSignal::new(SortOrder::Desc);
    let data = LocalResource::new(move || {
        let v = ctx.view.get();
        let order = order.get();
        async move {
            let t = read_top(ctx, &v, dimension, sort_param(sort), order, 10).await?;
            let _ = csv.try_set(Some(top_csv(&t)));
            Ok((v, t))
        }
    });
    let param = dimension_param(dimension);
    let name = match dimension {
        TopDimension::Service => "Service",
        TopDimension::Team => "Team",
        TopDimension::Pattern => "Pattern",
    };
    let id = StoredValue::new(id);
    let sort_by = move |s: TopSort| {
        if s == sort {
            order.update(|o| {
                *o = if *o == SortOrder::Desc {
                    SortOrder::Asc
                } else {
                    SortOrder::Desc
                }
            });
        } else {
            layout.edit(&id.get_value(), |w| w.sort = Some(s));
        }
    };
    move || {
        state(data.get(), |(v, t)| {
            if t.rows.is_empty() {
                return view! { <p class="muted">"No incidents in this view."</p> }.into_any();
            }
            view! {
                <div class="table-scroll">
                    <table class="table top-table">
                        <thead><tr>
                            <th scope="col">{name}</th>
                            {TOP_COLUMNS.iter().map(|(s, p, label)| {
                                let current = *s == sort;
                                let aria = current.then(|| if t.order == SortOrder::Asc { "ascending" } else { "descending" });
                                let arrow = if !current { "" } else if t.order == SortOrder::Asc { " ▲" } else { " ▼" };
                                let s = *s;
                                view! {
                                    <th scope="col" aria-sort=aria>
                                        <button class="sort" data-sort=*p on:click=move |_| sort_by(s)>{*label}{arrow}</button>
                                    </th>
                                }
                            }).collect_view()}
                            <th scope="col">"Trend"</th>
                        </tr></thead>
                        <tbody>
                            {t.rows.into_iter().map(|r| {
                                let href = drillable_key(&r.key).then(|| drill_href(ctx.org, &v.q, v.period, Some((param, r.key.as_str()))));
                                let label = match &href {
                                    Some(h) => view! { <A href=h.clone()>{r.label.clone()}</A> }.into_any(),
                                    None => view! { <span>{r.label.clone()}</span> }.into_any(),
                                };
                                view! {
                                    <tr data-key=r.key.clone()>
                                        <th scope="row">{label}</th>
                                        <td class="num count">{r.count.to_string()}</td>
                                        <td class="num">{r.mtta_seconds.map_or_else(|| "—".to_owned(), short_secs)}</td>
                                        <td class="num">{r.mttr_seconds.map_or_else(|| "—".to_owned(), short_secs)}</td>
                                        <td class="num">{r.off_hours.to_string()}</td>
                                        <td class="num">{r.noise.to_string()}</td>
                                        <td><Sparkline values=r.sparkline.clone() /></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }
            .into_any()
        })
    }
}
