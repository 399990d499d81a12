// Boost.JSON is used header-only: its implementation is compiled exactly once, here, for the
// whole project (a second copy in another translation unit would be an ODR violation and a
// duplicate-symbol link error). Everything else includes <boost/json.hpp> or narrower headers.
#include <boost/json/src.hpp>
