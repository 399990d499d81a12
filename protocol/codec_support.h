#pragma once
// Internal helpers for the generated codec (protocol/gen/kgs_gen.py output). Included only by the
// generated .cpp files, never by the public per-API headers, so dependents don't pay for it.
//
// Everything here follows wire.h's rules: reads are bounds-checked and errors are sticky in the
// reader; nothing allocates more than the bytes actually present justify.
// Threading: stateless functions over the caller's reader or writer.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "protocol/wire.h"

namespace kgw::protocol::detail {

// Content equality for the span-typed members (std::span has no operator==).
inline bool eq(bytes_view a, bytes_view b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}
inline bool eq(const std::optional<bytes_view>& a, const std::optional<bytes_view>& b) {
  return a.has_value() == b.has_value() && (!a || eq(*a, *b));
}

// bytes fields at least this large are referenced by the writer instead of copied.
inline constexpr std::size_t borrow_threshold = 256;

inline void write_bytes(writer& w, bytes_view b, bool compact) { w.bytes(b, compact, b.size() >= borrow_threshold); }
// A null written in a version where the field is not nullable goes out as empty.
inline void write_nullable_bytes(writer& w, const std::optional<bytes_view>& b, bool compact, bool nullable) {
  if (!b && nullable)
    w.length(-1, compact, true);
  else
    write_bytes(w, b.value_or(bytes_view{}), compact);
}
inline void write_nullable_string(writer& w, const std::optional<std::string_view>& s, bool compact, bool nullable) {
  if (!s && nullable)
    w.length(-1, compact, false);
  else
    w.string(s.value_or(std::string_view{}), compact);
}
inline std::optional<std::string_view> read_nullable_string(reader& r, bool compact, bool nullable) {
  if (nullable) return r.nullable_string(compact);
  return r.string(compact);
}
inline std::optional<bytes_view> read_nullable_bytes(reader& r, bool compact, bool nullable) {
  if (nullable) return r.nullable_bytes(compact);
  return r.bytes(compact);
}

// Arrays. The count was already checked against the bytes left by reader::array_length; elements
// are appended one by one and the loop stops at the first error, so memory stays proportional to
// what was really decoded.
template <class T, class F>
void read_elements(reader& r, std::int32_t n, std::vector<T>& out, F&& elem) {
  out.clear();
  out.reserve(static_cast<std::size_t>(std::min<std::int32_t>(n, 64)));
  for (std::int32_t i = 0; i < n && r.ok(); ++i) elem(r, out.emplace_back());
}
template <class T, class F>
void read_array(reader& r, bool compact, std::vector<T>& out, F&& elem) {
  const std::int32_t n = r.array_length(compact);
  if (n < 0) {
    r.fail("null array where not nullable");  // no-op when array_length already failed
    return;
  }
  read_elements(r, n, out, elem);
}
template <class T, class F>
void read_nullable_array(reader& r, bool compact, bool nullable, std::optional<std::vector<T>>& out, F&& elem) {
  const std::int32_t n = r.array_length(compact);
  if (n < 0) {
    if (!nullable) r.fail("null array where not nullable");
    out.reset();
    return;
  }
  read_elements(r, n, out.emplace(), elem);
}
template <class T, class F>
void write_array(writer& w, bool compact, const std::vector<T>& a, F&& elem) {
  w.array_length(static_cast<std::int64_t>(a.size()), compact);
  for (const auto& e : a) elem(w, e);
}
// A null written in a version where the array is not nullable goes out as empty.
template <class T, class F>
void write_nullable_array(writer& w, bool compact, bool nullable, const std::optional<std::vector<T>>& a, F&& elem) {
  if (!a) {
    w.array_length(nullable ? -1 : 0, compact);
    return;
  }
  write_array(w, compact, *a, elem);
}

// Nullable struct fields: an int8 marker (-1 null, 1 present) in the versions where they are
// nullable, nothing otherwise.
template <class T>
void read_nullable_struct(reader& r, std::int16_t version, bool nullable, std::optional<T>& out) {
  if (nullable && r.i8() < 0) {
    out.reset();
    return;
  }
  out.emplace().decode(r, version);
}
template <class T>
void write_nullable_struct(writer& w, std::int16_t version, bool nullable, const std::optional<T>& s) {
  if (nullable) {
    w.i8(s ? 1 : -1);
    if (s) s->encode(w, version);
  } else {
    (s ? *s : T{}).encode(w, version);
  }
}

// Iterates a tagged-field section. For each field, `sub` reads exactly that field's bytes; a
// known field decoded from `sub` is confirmed with done(), which fails the outer reader if the
// field was malformed or had bytes left over. Unknown fields are kept as raw().
struct tagged_fields {
  explicit tagged_fields(reader& r) : left(r.uvarint()) {}
  bool next(reader& r) {
    if (left == 0 || !r.ok()) return false;
    --left;
    tag = r.uvarint();
    const std::uint32_t size = r.uvarint();
    data = r.raw(size);
    if (!r.ok()) return false;
    sub = reader(data);
    return true;
  }
  void done(reader& r) const {
    if (!sub.ok())
      r.fail(sub.error().what);
    else if (sub.remaining() != 0)
      r.fail("tagged field longer than its value");
  }
  raw_tagged_field raw() const { return {tag, data}; }

  std::uint32_t left;
  std::uint32_t tag = 0;
  bytes_view data;
  reader sub;
};

inline void read_unknown_tagged(reader& r, std::vector<raw_tagged_field>& unknown) {
  for (tagged_fields t(r); t.next(r);) unknown.push_back(t.raw());
}

// Writes a tagged-field section: the known fields (in ascending tag order, via begin()/end())
// merged with the preserved unknown ones (kept in their decoded, ascending order).
class tagged_writer {
 public:
  tagged_writer(writer& w, const std::vector<raw_tagged_field>& unknown, std::uint32_t known)
      : w_(w), unknown_(unknown) {
    w_.uvarint(known + static_cast<std::uint32_t>(unknown.size()));
  }
  // Emits the unknown fields that sort before `tag`; returns the scratch writer for its value.
  writer& begin(std::uint32_t tag) {
    flush_below(tag);
    tag_ = tag;
    body_ = writer{};
    return body_;
  }
  void end() {
    w_.uvarint(tag_);
    w_.uvarint(static_cast<std::uint32_t>(body_.size()));
    for (auto s : body_.slices()) w_.append(s);
  }
  void finish() {
    for (; next_ < unknown_.size(); ++next_) put(unknown_[next_]);
  }

 private:
  void flush_below(std::uint32_t tag) {
    for (; next_ < unknown_.size() && unknown_[next_].tag < tag; ++next_) put(unknown_[next_]);
  }
  void put(const raw_tagged_field& f) {
    w_.uvarint(f.tag);
    w_.uvarint(static_cast<std::uint32_t>(f.data.size()));
    w_.append(f.data);
  }

  writer& w_;
  const std::vector<raw_tagged_field>& unknown_;
  std::size_t next_ = 0;
  std::uint32_t tag_ = 0;
  writer body_;
};

inline void write_unknown_tagged(writer& w, const std::vector<raw_tagged_field>& unknown) {
  tagged_writer(w, unknown, 0).finish();
}

}  // namespace kgw::protocol::detail
