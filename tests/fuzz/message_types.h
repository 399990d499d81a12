#pragma once
// The generated request and response types by API key, for targets that decode "whatever the
// frame names": with_request<F>(key, fn) calls fn(std::type_identity<M>{}) for the request type of
// that key (likewise with_response) and returns false when the codec has none. Built from the
// generated list of every message (protocol/samples.h: headers first, then request and response
// of each API in turn), so a new API in the schema is fuzzed without an edit here.
// Threading: pure functions.
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>

#include "protocol/samples.h"

namespace kgw::fuzz {

namespace detail {

using all = protocol::testing::all_messages;
inline constexpr std::size_t first_api = 2;  // after request_header, response_header
static_assert((std::tuple_size_v<all> - first_api) % 2 == 0);

template <std::size_t... I>
constexpr bool paired(std::index_sequence<I...>) {
  return ((std::tuple_element_t<first_api + 2 * I, all>::api_key ==
           std::tuple_element_t<first_api + 2 * I + 1, all>::api_key) && ...);
}
static_assert(paired(std::make_index_sequence<(std::tuple_size_v<all> - first_api) / 2>{}),
              "all_messages must list each API's request then its response");

template <std::size_t Offset, class F, std::size_t... I>
bool dispatch(std::int16_t key, F&& fn, std::index_sequence<I...>) {
  return ((std::tuple_element_t<first_api + 2 * I + Offset, all>::api_key == key
               ? (fn(std::type_identity<std::tuple_element_t<first_api + 2 * I + Offset, all>>{}), true)
               : false) ||
          ...);
}

}  // namespace detail

template <class F>
bool with_request(std::int16_t key, F&& fn) {
  return detail::dispatch<0>(key, fn, std::make_index_sequence<(std::tuple_size_v<detail::all> - detail::first_api) / 2>{});
}
template <class F>
bool with_response(std::int16_t key, F&& fn) {
  return detail::dispatch<1>(key, fn, std::make_index_sequence<(std::tuple_size_v<detail::all> - detail::first_api) / 2>{});
}

}  // namespace kgw::fuzz
