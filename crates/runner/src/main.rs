//! The runner's Lambda entry point (see the library for the handler): SSM credentials and region come from
//! the function's execution role and environment.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let ssm = aws_sdk_ssm::Client::new(&config);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let ssm = ssm.clone();
        // The invocation's own deadline (milliseconds since the epoch): the runner answers before it.
        let until =
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(event.context.deadline);
        let options = insights_runner::Options {
            until: Some(until),
            ..insights_runner::Options::default()
        };
        async move {
            insights_runner::handle(&ssm, event.payload, &options)
                .await
                .map_err(|e| Error::from(e.to_string()))
        }
    }))
    .await
}
