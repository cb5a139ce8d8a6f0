//! The product's sections that are not built yet: each says what it will hold.

use crate::components::ComingSoon;
use leptos::prelude::*;

/// The "coming soon" panel of the section `name` (Runbooks, Automations).
#[component]
pub fn Section(#[prop(into)] name: String) -> impl IntoView {
    let what = match name.as_str() {
        "Runbooks" => "Runbooks generated from your own runbooks and past fixes, with citations.",
        "Automations" => {
            "Your AWS Lambda functions as automations: by hand, on a schedule, or on matching incidents."
        }
        _ => "",
    };
    view! { <ComingSoon section=name what=what /> }
}
