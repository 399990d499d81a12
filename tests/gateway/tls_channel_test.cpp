// tls_channel through byte_stream, over a loopback connection with a throw-away PKI: what one side
// writes (gathered pieces of every size, both directions at once) is exactly what the other
// reads; hostname verification refuses a certificate for another name; a peer leaving is an end
// of stream, not a hang.
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <random>
#include <sstream>

#include "gateway/byte_stream.h"
#include "gateway/frame_buffer.h"
#include "gateway/tls_context.h"
#include "tests/support/test_pki.h"

namespace kgw::gateway {
namespace {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string read_text(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

struct tls_pair {
  testing::test_pki pki{"kgw-tls-channel"};
  std::shared_ptr<asio::ssl::context> server_ctx, client_ctx;
  asio::io_context io;
  byte_stream server{tcp::socket(io)}, client{tcp::socket(io)};

  explicit tls_pair(int client_max_version = 0) {
    const auto cert = pki.issue_server();
    config::tls_server_settings s;
    s.certificate_pem = read_text(cert.cert);
    s.key_pem = read_text(cert.key);
    server_ctx = make_server_tls_context(s, "test listener");
    config::tls_client_settings c;
    c.ca_pem = read_text(pki.ca_cert());
    client_ctx = make_client_tls_context(c, "test upstream");
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client.socket().connect(acceptor.local_endpoint());
    server.socket() = acceptor.accept();
    server.enable_tls(*server_ctx, byte_stream::tls_role::server);
    client.enable_tls(*client_ctx, byte_stream::tls_role::client);
    if (client_max_version) SSL_set_max_proto_version(client.tls_handle(), client_max_version);
  }

  // Runs both handshakes; the client verifies the server's certificate against `name`.
  std::pair<boost::system::error_code, boost::system::error_code> handshake(const std::string& name) {
    X509_VERIFY_PARAM* param = SSL_get0_param(client.tls_handle());
    REQUIRE(X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size()) == 1);
    boost::system::error_code sec, cec;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> { sec = co_await server.tls_handshake(); }, asio::detached);
    asio::co_spawn(io, [&]() -> asio::awaitable<void> { cec = co_await client.tls_handshake(); }, asio::detached);
    io.run_for(std::chrono::seconds(20));
    io.restart();
    return {sec, cec};
  }
};

std::vector<std::byte> random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::vector<std::byte> v(n);
  for (auto& b : v) b = static_cast<std::byte>(g());
  return v;
}

// Writes `data` as gathered writes whose pieces cycle through tiny, small, record-sized and
// large, as the relay writes size prefixes, headers and record batches.
asio::awaitable<void> write_pieces(byte_stream& s, const std::vector<std::byte>& data, bool& ok) {
  static constexpr std::size_t sizes[] = {4, 13, 700, 4095, 4096, 16384, 16385, 70000, 300000, 1};
  std::size_t at = 0, k = 0;
  while (at < data.size()) {
    std::vector<asio::const_buffer> out;
    for (int i = 0; i < 5 && at < data.size(); ++i) {
      const std::size_t n = std::min(sizes[k++ % std::size(sizes)], data.size() - at);
      out.emplace_back(data.data() + at, n);
      at += n;
    }
    auto [ec, n] = co_await s.write(out);
    if (ec || n != asio::buffer_size(out)) co_return;
  }
  ok = true;
}

asio::awaitable<void> read_all(byte_stream& s, std::size_t n, std::vector<std::byte>& got) {
  frame_buffer b;
  while (got.size() < n) {
    auto [ec, k] = co_await s.read_into(b, n - got.size());
    if (ec) co_return;
    const auto d = b.data();
    got.insert(got.end(), d.begin(), d.end());
    b.consume(d.size());
  }
}

TEST_CASE("tls_channel: both directions at once carry every byte, pieces of every size", "[tls]") {
  for (const auto& [max, version] : {std::pair{TLS1_2_VERSION, "TLSv1.2"}, std::pair{0, "TLSv1.3"}}) {
    INFO(version);
    tls_pair p(max);
    auto [sec, cec] = p.handshake("localhost");
    REQUIRE_FALSE(sec);
    REQUIRE_FALSE(cec);
    const auto down = random_bytes(9 << 20, 1), up = random_bytes(3 << 20, 2);
    std::vector<std::byte> got_down, got_up;
    bool wrote_down = false, wrote_up = false;
    asio::co_spawn(p.io, write_pieces(p.server, down, wrote_down), asio::detached);
    asio::co_spawn(p.io, write_pieces(p.client, up, wrote_up), asio::detached);
    asio::co_spawn(p.io, read_all(p.client, down.size(), got_down), asio::detached);
    asio::co_spawn(p.io, read_all(p.server, up.size(), got_up), asio::detached);
    p.io.run_for(std::chrono::seconds(60));
    CHECK(wrote_down);
    CHECK(wrote_up);
    CHECK(got_down == down);
    CHECK(got_up == up);
    CHECK(std::string(SSL_get_version(p.client.tls_handle())) == version);
  }
}

TEST_CASE("tls_channel: a certificate for another name fails the handshake with the reason", "[tls]") {
  tls_pair p;
  auto [sec, cec] = p.handshake("kafka.elsewhere.example");
  REQUIRE(cec);
  CHECK(describe_tls_error(cec) == "certificate verify failed");
  CHECK(sec);  // the server learns of it from the client's alert
}

TEST_CASE("tls_channel: a peer that leaves ends the other side's read", "[tls]") {
  // TLS 1.2: the client has read everything the server sent, so its close is a FIN: the end of
  // the stream at a record boundary (no close_notify, as clients often do). TLS 1.3: the
  // server's session tickets are still unread, so the client's kernel answers with a reset.
  for (const auto& [max, expected] : {std::pair{TLS1_2_VERSION, boost::system::error_code(asio::error::eof)},
                                      std::pair{0, boost::system::error_code(asio::error::connection_reset)}}) {
    tls_pair q(max);
    auto [sec, cec] = q.handshake("localhost");
    REQUIRE_FALSE(sec);
    REQUIRE_FALSE(cec);
    boost::system::error_code read_ec;
    bool read_done = false;
    asio::co_spawn(q.io, [&]() -> asio::awaitable<void> {
      frame_buffer b;
      auto [ec, n] = co_await q.server.read_into(b, 100);
      read_ec = ec;
      read_done = true;
    }, asio::detached);
    q.io.poll();
    q.client.close();
    q.io.run_for(std::chrono::seconds(10));
    REQUIRE(read_done);
    CHECK(read_ec == expected);
  }
}

TEST_CASE("byte_stream: a plain write of thousands of pieces arrives whole past a full send buffer", "[tls]") {
  // More pieces than one sendmsg takes (1024), empty ones among them, and far more bytes than
  // the socket buffers hold while the reader has not started: the write goes on in several
  // calls, waits for writability, resumes inside a piece, and nothing is lost or reordered.
  asio::io_context io;
  byte_stream writer{tcp::socket(io)}, reader{tcp::socket(io)};
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  reader.socket().connect(acceptor.local_endpoint());
  writer.socket() = acceptor.accept();
  const auto data = random_bytes(24 << 20, 3);
  static constexpr std::size_t sizes[] = {0, 4, 13, 700, 0, 4096, 16385, 1, 70000, 9};
  std::vector<asio::const_buffer> pieces;
  for (std::size_t at = 0, k = 0; at < data.size(); ++k) {
    const std::size_t n = std::min(sizes[k % std::size(sizes)], data.size() - at);
    pieces.emplace_back(data.data() + at, n);
    at += n;
  }
  REQUIRE(pieces.size() > 2000);
  boost::system::error_code write_ec = asio::error::would_block;
  std::size_t written = 0;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    std::tie(write_ec, written) = co_await writer.write(pieces);
  }, asio::detached);
  io.run_for(std::chrono::milliseconds(200));  // the writer fills the buffers and waits
  CHECK(written == 0);
  CHECK(write_ec == asio::error::would_block);  // still writing: no reader yet
  std::vector<std::byte> got;
  asio::co_spawn(io, read_all(reader, data.size(), got), asio::detached);
  io.run_for(std::chrono::seconds(60));
  CHECK_FALSE(write_ec);
  CHECK(written == data.size());
  CHECK(got == data);
}

}  // namespace
}  // namespace kgw::gateway
