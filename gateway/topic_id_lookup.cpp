#include "gateway/topic_id_lookup.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <string>

#include "gateway/byte_stream.h"
#include "gateway/logging.h"
#include "gateway/upstream_connector.h"
#include "gateway/worker.h"
#include "protocol/metadata.h"

namespace kgw::gateway {
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace {

asio::awaitable<void> learn_topic_ids(worker& w, std::string peer) {
  byte_stream s(asio::ip::tcp::socket(w.io));
  upstream_connector::connected done = std::unexpected(std::string("no upstream broker"));
  const auto bootstrap = w.bootstrap.get();
  for (const auto& c : *bootstrap) {
    done = co_await w.connector.connect(s, c);
    if (done) break;
  }
  if (!done) {
    log::upstream().warn("{}: cannot look up topic ids: {}", peer, done.error());
    co_return;
  }
  try {
    const auto ranges = co_await fetch_api_versions(s, 1);
    std::int16_t mv = -1;
    for (const auto& k : ranges)
      if (k.api_key == protocol::metadata_request::api_key)
        mv = std::min<std::int16_t>(k.max_version, protocol::metadata_request::max_version);
    if (mv < 10) co_return;  // the cluster has no topic ids
    protocol::metadata_request mr;
    mr.topics.reset();  // every topic
    mr.allow_auto_topic_creation = false;
    const auto answer = co_await ask<protocol::metadata_response>(s, mr, mv, 2);
    for (const auto& t : answer.msg.topics)
      if (t.name) w.topic_ids.learn(t.topic_id, *t.name);
  } catch (const std::exception& e) {
    log::upstream().warn("{}: cannot look up topic ids: {}", peer, e.what());
  }
}

}  // namespace

asio::awaitable<void> lookup_topic_ids(worker& w, std::string_view peer) {
  asio::steady_timer timer(w.io, w.cfg->upstream_connect_timeout * 2);
  co_await (learn_topic_ids(w, std::string(peer)) || timer.async_wait(asio::as_tuple(asio::use_awaitable)));
}

}  // namespace kgw::gateway
