//! Built-in inter-region delays for region pairs a scenario does not list.
//!
//! One-way delay = RTT / 2 from the reference's section 10.2 (a cloudping.co sample,
//! EC2 to EC2, about 2023; LT-06), per direction as measured; jitter = 5% of the delay
//! (LT-06 suggests 5-10%); no loss. Pairs not in the table get
//! [`DEFAULT_INTER_REGION_ONE_WAY_US`].

use crate::model::LinkSpec;

/// One-way delay of a region pair missing from the built-in table: 50 ms, about the
/// median of the table's cross-continent and in-continent pairs.
pub const DEFAULT_INTER_REGION_ONE_WAY_US: u64 = 50_000;

const REGIONS: [&str; 9] = [
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-central-1",
    "ap-northeast-1",
    "ap-southeast-2",
    "ap-southeast-1",
];

/// Round trips in ms, rows = source, columns = destination, in `REGIONS` order.
const RTT_MS: [[u32; 9]; 9] = [
    [4, 13, 64, 70, 76, 92, 146, 199, 211],
    [12, 4, 52, 79, 86, 102, 133, 187, 200],
    [63, 51, 3, 119, 128, 140, 97, 140, 161],
    [69, 79, 119, 1, 13, 27, 201, 256, 181],
    [76, 86, 128, 13, 1, 17, 210, 265, 171],
    [91, 102, 141, 26, 17, 2, 223, 249, 158],
    [146, 135, 98, 201, 211, 223, 4, 104, 68],
    [198, 187, 140, 256, 264, 249, 109, 1, 93],
    [213, 200, 162, 182, 171, 157, 69, 93, 4],
];

/// Extra symmetric pairs from the same sample (MRSC region sets); ranges use the upper
/// figure.
const EXTRA_RTT_MS: [(&str, &str, u32); 6] = [
    ("ap-northeast-1", "ap-northeast-3", 10),
    ("ap-northeast-1", "ap-northeast-2", 34),
    ("ap-northeast-2", "ap-northeast-3", 24),
    ("eu-west-3", "eu-west-2", 10),
    ("eu-west-3", "eu-central-1", 12),
    ("eu-west-3", "eu-west-1", 18),
];

fn rtt_ms(from: &str, to: &str) -> Option<u32> {
    let row = REGIONS.iter().position(|r| *r == from);
    let column = REGIONS.iter().position(|r| *r == to);
    if let (Some(row), Some(column)) = (row, column) {
        return Some(RTT_MS[row][column]);
    }
    EXTRA_RTT_MS
        .iter()
        .find(|(a, b, _)| (*a == from && *b == to) || (*a == to && *b == from))
        .map(|(_, _, rtt)| *rtt)
}

/// Delay model from `from` to `to` when the scenario lists no link for the pair.
pub fn default_inter_region_link(from: &str, to: &str) -> LinkSpec {
    let one_way_us =
        rtt_ms(from, to).map_or(DEFAULT_INTER_REGION_ONE_WAY_US, |rtt| u64::from(rtt) * 500);
    LinkSpec {
        one_way_us,
        jitter_us: one_way_us / 20,
        loss: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_fallback() {
        assert_eq!(
            default_inter_region_link("us-east-1", "eu-west-1").one_way_us,
            35_000
        );
        assert_eq!(
            default_inter_region_link("eu-west-1", "us-east-1").one_way_us,
            34_500
        );
        assert_eq!(
            default_inter_region_link("eu-west-1", "eu-west-3").one_way_us,
            9_000
        );
        assert_eq!(
            default_inter_region_link("mars-1", "us-east-1").one_way_us,
            DEFAULT_INTER_REGION_ONE_WAY_US
        );
    }
}
