# libwebsock for C and C++ users, the way C libraries install:
#
#   make                                     cargo build --release -p websock-ffi
#   make install [PREFIX=/usr/local] [LIBDIR=…] [INCLUDEDIR=…] [DESTDIR=…]
#   make uninstall                           (with the same settings)
#
# install puts websock.h, libwebsock.a, libwebsock.so (with its soname),
# websock.pc and a CMake package under PREFIX; see ffi/install.sh.

CARGO      ?= cargo
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DESTDIR    ?=
INSTALL_ENV = PREFIX='$(PREFIX)' LIBDIR='$(LIBDIR)' INCLUDEDIR='$(INCLUDEDIR)' DESTDIR='$(DESTDIR)'

all:
	$(CARGO) build --release -p websock-ffi

install: all
	$(INSTALL_ENV) ffi/install.sh

uninstall:
	$(INSTALL_ENV) ffi/install.sh --uninstall

.PHONY: all install uninstall
