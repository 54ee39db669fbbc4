//! Lambda entry point of the WebSocket API's routes (`tacticeye_live::handle`).

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use tacticeye::aws;
use tacticeye::push::Gateway;
use tacticeye::storage::S3Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tacticeye::logging::init("info", tacticeye::logging::Clock::Without);
    let bucket = std::env::var("TACTICEYE_BUCKET").map_err(|_| "environment variable TACTICEYE_BUCKET is not set")?;
    let endpoint = std::env::var("TACTICEYE_LIVE_ENDPOINT")
        .map_err(|_| "environment variable TACTICEYE_LIVE_ENDPOINT is not set")?;
    let sdk = aws::sdk_config().await;
    let (store, gateway) = (S3Store::new(aws::s3_client(&sdk), bucket), Gateway::new(&sdk, &endpoint));
    lambda_runtime::run(service_fn(|event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| {
        let (store, gateway) = (&store, &gateway);
        // Boxed: the handler's future nests deep enough to overflow rustc's query depth when laid out inline.
        async move { Box::pin(tacticeye_live::handle(store, gateway, &event.payload)).await.map_err(Error::from) }
    }))
    .await
}
