//! Lambda entry point of the HTTP API (API Gateway HTTP API; the gateway's IAM authorizer guards the
//! mutating routes, so no bearer token is checked here). `POST /matches` writes `requests/`, which the
//! segmenter listens to.

use tacticeye::aws;
use tacticeye::storage::S3Store;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tacticeye::logging::init("info", tacticeye::logging::Clock::Without);
    let bucket = std::env::var("TACTICEYE_BUCKET").map_err(|_| "environment variable TACTICEYE_BUCKET is not set")?;
    let sdk = aws::sdk_config().await;
    // The dashboard signs its calls for this region, and follows matches on the WebSocket API.
    let cloud = tacticeye_api::CloudEndpoints {
        region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        live_url: std::env::var("TACTICEYE_LIVE_URL").ok(),
    };
    let config = tacticeye_api::ApiConfig {
        token: None,
        public_read: false,
        starts: tacticeye_api::Starts::Segmenter,
        cloud: Some(cloud),
    };
    let app = tacticeye_api::router(S3Store::new(aws::s3_client(&sdk), bucket), config);
    lambda_http::run(app).await
}
