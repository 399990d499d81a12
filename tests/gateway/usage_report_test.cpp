// The chargeback report: traffic counters read from a Prometheus text (escaped labels, other
// metrics ignored), a period as the difference of two scrapes (a restart in between counts from
// zero), audit traffic events summed within a period, and the table and CSV it prints.
#include <catch2/catch.hpp>

#include "gateway/usage_report.h"

using namespace kgw::gateway;

TEST_CASE("usage: traffic counters from /metrics, and a period between two scrapes", "[usage]") {
  const std::string before = R"(# HELP kafka_gateway_traffic_bytes_total Bytes...
# TYPE kafka_gateway_traffic_bytes_total counter
kafka_gateway_traffic_bytes_total{principal="analytics",topic="customers",api="Fetch"} 1000
kafka_gateway_traffic_bytes_total{principal="we\"ird\\name",topic="t",api="Produce"} 10
kafka_gateway_traffic_records_total{principal="analytics",topic="customers",api="Fetch"} 10
kafka_gateway_requests_total{principal="analytics",api="Fetch"} 99
)";
  const auto a = usage_from_metrics(before);
  REQUIRE(a.has_value());
  REQUIRE(a->size() == 2);
  CHECK(a->at({"analytics", "customers", "Fetch"}).bytes == 1000);
  CHECK(a->at({"analytics", "customers", "Fetch"}).records == 10);
  CHECK(a->at({"we\"ird\\name", "t", "Produce"}).bytes == 10);

  const std::string after = R"(kafka_gateway_traffic_bytes_total{principal="analytics",topic="customers",api="Fetch"} 1.5e3
kafka_gateway_traffic_records_total{principal="analytics",topic="customers",api="Fetch"} 15
kafka_gateway_traffic_bytes_total{principal="we\"ird\\name",topic="t",api="Produce"} 4
kafka_gateway_traffic_bytes_total{principal="fraud",topic="customers",api="Fetch"} 7
)";
  const auto b = usage_from_metrics(after);
  REQUIRE(b.has_value());
  const auto d = usage_between(*a, *b);
  CHECK(d.at({"analytics", "customers", "Fetch"}).bytes == 500);
  CHECK(d.at({"analytics", "customers", "Fetch"}).records == 5);
  CHECK(d.at({"we\"ird\\name", "t", "Produce"}).bytes == 4);  // went down: restarted, counted since
  CHECK(d.at({"fraud", "customers", "Fetch"}).bytes == 7);

  CHECK_FALSE(usage_from_metrics("kafka_gateway_traffic_bytes_total{principal=\"x 1\n").has_value());
}

TEST_CASE("usage: traffic events of audit files within a period", "[usage]") {
  const std::string lines =
      R"({"type":"kafka.gateway.traffic","time":"2026-12-01T01:00:00.000Z","data":{"principal":"sales","api":"Fetch","resource":{"type":"topic","name":"customers"},"window":{"start":"2026-12-01T00:59:00.000Z","end":"2026-12-01T01:00:00.000Z"},"requests":3,"records":30,"bytes":3000}}
{"type":"kafka.gateway.authorization","time":"2026-12-01T01:00:01.000Z","data":{"principal":"sales"}}
{"type":"kafka.gateway.traffic","time":"2026-12-01T02:00:00.000Z","data":{"principal":"sales","api":"Fetch","resource":{"type":"topic","name":"customers"},"window":{"start":"2026-12-01T01:59:00.000Z","end":"2026-12-01T02:00:00.000Z"},"requests":1,"records":5,"bytes":500}}
{"type":"kafka.gateway.traffic","time":"2026-12-01T01:30:00.000Z","data":{"principal":"ingest","api":"Produce","resource":{"type":"topic","name":"customers"},"requests":1,"records":2,"bytes":200}}
)";
  usage_table all;
  REQUIRE(add_usage_from_audit(lines, "", "", all).has_value());
  CHECK(all.at({"sales", "customers", "Fetch"}).records == 35);
  CHECK(all.at({"ingest", "customers", "Produce"}).bytes == 200);  // per request: by its time
  usage_table first_hour;
  REQUIRE(add_usage_from_audit(lines, "2026-12-01T00:00:00Z", "2026-12-01T01:45:00Z", first_hour).has_value());
  CHECK(first_hour.at({"sales", "customers", "Fetch"}).bytes == 3000);
  CHECK(first_hour.at({"ingest", "customers", "Produce"}).records == 2);
  usage_table bad;
  CHECK_FALSE(add_usage_from_audit("{not json\n", "", "", bad).has_value());

  CHECK(format_usage(all, true) ==
        "principal,topic,api,records,bytes\ningest,customers,Produce,2,200\nsales,customers,Fetch,35,3500\n");
  const auto table = format_usage(all, false);
  CHECK(table.find("PRINCIPAL  TOPIC      API      RECORDS") == 0);
  CHECK(table.find("sales      customers  Fetch         35  3500 (3.4 KiB)") != std::string::npos);
  CHECK(table.find("total") != std::string::npos);
}
