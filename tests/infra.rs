//! The infrastructure as code is valid CloudFormation/SAM, as cfn-lint (with the SAM transform) sees it.

use std::process::Command;

use tacticeye_tests::{python, stdout};

#[test]
fn the_sam_template_passes_cfn_lint() {
    let template = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml");
    let out = Command::new(python().with_file_name("cfn-lint"))
        .arg(template)
        .output()
        .expect("cfn-lint (`make pytools` installs it)");
    assert!(out.status.success(), "cfn-lint findings:\n{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_template_wires_uploads_to_the_segmenter_and_a_fifo_queue_with_a_dead_letter_queue() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml")).unwrap();
    for needle in [
        "Type: S3",
        "Value: uploads/",
        "FifoQueue: true",
        "deadLetterTargetArn",
        "Type: GPU",
        "Authorizer: AWS_IAM",
        "RetentionInDays",
    ] {
        assert!(text.contains(needle), "template lacks {needle}");
    }
}

/// The rule on `live/` runs the live segmenter with the key as its argument, as tests/cloud.rs runs it.
#[test]
fn the_template_starts_the_live_segmenter_task_on_a_live_hand_over() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml")).unwrap();
    for needle in [
        "EventBridgeEnabled: true",
        "key: [{prefix: live/}]",
        "LaunchType: FARGATE",
        r#""command": ["live", <key>]"#,
        "/live/*",
    ] {
        assert!(text.contains(needle), "template lacks {needle}");
    }
}
