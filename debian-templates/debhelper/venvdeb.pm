#!/usr/bin/perl
# debhelper sequence addon for venvdeb: `Build-Depends: dh-sequence-venvdeb`
# (compat 13; the venvdeb package provides dh-sequence-venvdeb) or
# `dh $@ --with venvdeb`. Installed as Debian/Debhelper/Sequence/venvdeb.pm.
#
# - Runs dh_venvdeb right after dh_install, where the package trees are
#   assembled: it verifies the signed wheels and installs the virtualenv
#   into debian/<package>/<prefix>.
# - Keeps the rest of the sequence from changing the virtualenv's files, so
#   that every installed file stays byte-identical to its wheel's RECORD:
#   dh_strip, dh_dwz and dh_strip_nondeterminism (they rewrite ELF files,
#   PNGs, zips) and dh_makeshlibs (it would declare the libraries wheels
#   bundle in *.libs/ as public shlibs) get `-X<prefix>/` for each venv
#   prefix; so does dh_fixperms (it would clear the executable bit the
#   wheels give their .so modules: venvdeb's staging already normalized the
#   venv's modes and ownership, and the build manifest records them);
#   dh_python3 gets --no-shebang-rewrite (it would follow the /usr/bin
#   launcher links and rewrite the venv's shebangs).
#   dh_shlibdeps still reads the venv's ELF files, so ${shlibs:Depends}
#   covers what manylinux wheels link against; it gets `-l` with the
#   directories where those wheels bundle their libraries (*.libs/), where
#   dpkg-shlibdeps does not look by itself: a bundled library that needs
#   another (scipy's libgfortran needs its libquadmath) would otherwise
#   fail the build with "cannot find library".
# - Runs dh_venvdeb_provenance right after dh_builddeb: it writes the
#   in-toto provenance statement of each .deb dh_builddeb wrote beside it.
# - Like dh-virtualenv's addon, drops dh_auto_build, dh_auto_test,
#   dh_auto_install and dh_auto_clean: the application reaches the package
#   only as a verified wheel, never built from the source tree by dh.
#
# Copyright 2026 the venvdeb authors. GPL-2.0-or-later.

use strict;
use warnings;
use Cwd ();
use File::Basename ();
use Debian::Debhelper::Dh_Lib;

insert_after('dh_install', 'dh_venvdeb');
insert_after('dh_builddeb', 'dh_venvdeb_provenance');

remove_command($_) for qw(dh_auto_build dh_auto_test dh_auto_install dh_auto_clean);

# Every venv prefix this source package can install: /opt/venvs/ plus each
# venv.prefix that debian/venvdeb.toml and debian/*.venvdeb.toml (the files
# dh_venvdeb reads) set, as venvdeb itself reads them (`venvdeb debhelper
# prefixes`: its TOML parser and checks, dotted keys and inline tables
# included). venvdeb is the one dh_venvdeb runs: $VENVDEB, else the venvdeb
# beside the dh_venvdeb on PATH, else venvdeb on PATH.
sub venvdeb_program {
	return $ENV{VENVDEB} if defined($ENV{VENVDEB}) and length($ENV{VENVDEB});
	for my $dir (split(/:/, $ENV{PATH} // '')) {
		next if not length($dir);
		if (-x "$dir/dh_venvdeb") {
			my $real = Cwd::realpath("$dir/dh_venvdeb");
			my $beside = defined($real) ? File::Basename::dirname($real) . '/venvdeb' : undef;
			return $beside if defined($beside) and -x $beside;
			last;
		}
	}
	return 'venvdeb';
}

sub venvdeb_prefixes {
	my @files = sort(glob('debian/venvdeb.toml'), glob('debian/*.venvdeb.toml'));
	return ('/opt/venvs/') if not @files;
	my @cmd = (venvdeb_program(), 'debhelper', 'prefixes', @files);
	open(my $fd, '-|', @cmd) or error("running $cmd[0]: $!");
	my @prefixes = map { chomp; $_ } <$fd>;
	close($fd) or error(join(' ', @cmd) . ' failed' . ($! ? ": $!" : " with exit status " . ($? >> 8)));
	error(join(' ', @cmd) . ' printed no prefix') if not @prefixes;
	for my $p (@prefixes) {
		error("venvdeb debhelper prefixes: not an absolute directory: $p") if $p !~ m{^/[^/].*/$}s;
	}
	return @prefixes;
}

# dh_shlibdeps' -l: where each package's manylinux wheels bundle their
# libraries (`venvdeb debhelper library-dirs`), from the file names in
# the wheelhouse; the wheels' contents are verified later, by dh_venvdeb.
sub venvdeb_library_dirs {
	my @pairs;
	for my $package (getpackages()) {
		my $config = pkgfile($package, 'venvdeb.toml');
		push @pairs, "$package=$config" if $config;
	}
	return () if not @pairs;
	my @cmd = (venvdeb_program(), 'debhelper', 'library-dirs', @pairs);
	open(my $fd, '-|', @cmd) or error("running $cmd[0]: $!");
	my @dirs = map { chomp; $_ } <$fd>;
	# Not fatal: a search path, not a check (`dh clean` may run where the
	# target interpreter is not installed). dh_shlibdeps then says which
	# library it cannot find.
	if (not close($fd)) {
		warning(join(' ', @cmd) . ' failed' . ($! ? ": $!" : " with exit status " . ($? >> 8))
			. ': dh_shlibdeps gets no -l for the wheels\' bundled libraries');
		return ();
	}
	for my $d (@dirs) {
		error("venvdeb debhelper library-dirs: not an absolute directory: $d") if $d !~ m{^/[^/:]*(?:/[^/:]+)*$}s;
	}
	return @dirs;
}

my @exclude = map { "-X$_" } venvdeb_prefixes();
for my $command (qw(dh_strip dh_dwz dh_strip_nondeterminism dh_makeshlibs dh_fixperms)) {
	add_command_options($command, @exclude);
}
add_command_options('dh_python3', '--no-shebang-rewrite');
my @library_dirs = venvdeb_library_dirs();
add_command_options('dh_shlibdeps', '-l' . join(':', @library_dirs)) if @library_dirs;

1;
