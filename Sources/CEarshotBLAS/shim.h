// System CBLAS (OpenBLAS on Linux). Debian's libopenblas-dev installs cblas.h
// through the alternatives system, which also declares openblas_set_num_threads.
#include <cblas.h>
