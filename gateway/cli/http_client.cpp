#include "gateway/cli/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <chrono>

namespace kgw::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::expected<http_answer, std::string> http_get(const std::string& url, const std::string& token,
                                                 const std::string& ca, bool verify) {
  const bool tls = url.starts_with("https://");
  if (!tls && !url.starts_with("http://")) return std::unexpected(url + ": not an http:// or https:// URL");
  std::string rest = url.substr(tls ? 8 : 7);
  const auto slash = rest.find('/');
  const std::string target = slash == std::string::npos ? "/metrics" : rest.substr(slash);
  std::string host = rest.substr(0, slash), port = tls ? "443" : "80";
  if (auto colon = host.rfind(':'); colon != std::string::npos && host.find(']', colon) == std::string::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    const auto endpoints = resolver.resolve(host, port);
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, host);
    req.set(http::field::user_agent, "kafka-gateway");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    if (tls) {
      asio::ssl::context ctx(asio::ssl::context::tls_client);
      if (verify) {
        if (ca.empty())
          ctx.set_default_verify_paths();
        else
          ctx.load_verify_file(ca);
      }
      ctx.set_verify_mode(verify ? asio::ssl::verify_peer : asio::ssl::verify_none);
      beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
      SSL_set_tlsext_host_name(stream.native_handle(), host.c_str());
      if (verify) stream.set_verify_callback(asio::ssl::host_name_verification(host));
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
      beast::get_lowest_layer(stream).connect(endpoints);
      stream.handshake(asio::ssl::stream_base::client);
      http::write(stream, req);
      http::read(stream, buffer, res);
    } else {
      beast::tcp_stream stream(io);
      stream.expires_after(std::chrono::seconds(10));
      stream.connect(endpoints);
      http::write(stream, req);
      http::read(stream, buffer, res);
    }
    return http_answer{static_cast<int>(res.result_int()), std::string(res.reason()), std::move(res.body())};
  } catch (const std::exception& e) {
    return std::unexpected(url + ": " + e.what());
  }
}

std::expected<std::string, std::string> http_get_body(const std::string& url, const std::string& token,
                                                      const std::string& ca) {
  auto a = http_get(url, token, ca);
  if (!a) return std::unexpected(a.error());
  if (a->status != 200) return std::unexpected(url + ": HTTP " + std::to_string(a->status) + " " + a->reason);
  return std::move(a->body);
}

}  // namespace kgw::gateway
