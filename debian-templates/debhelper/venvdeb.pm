#!/usr/bin/perl
# debhelper sequence addon for venvdeb: `dh $@ --with venvdeb`.
# Installed as Debian/Debhelper/Sequence/venvdeb.pm.
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
#   venv's modes and ownership, and the build manifest records them); dh_python3 gets --no-shebang-rewrite (it would follow the
#   /usr/bin launcher links and rewrite the venv's shebangs).
#   dh_shlibdeps still reads the venv's ELF files, so ${shlibs:Depends}
#   covers what manylinux wheels link against.
# - Like dh-virtualenv's addon, drops dh_auto_build, dh_auto_test,
#   dh_auto_install and dh_auto_clean: the application reaches the package
#   only as a verified wheel, never built from the source tree by dh.
#
# Copyright 2026 the venvdeb authors. GPL-2.0-or-later.

use strict;
use warnings;
use Debian::Debhelper::Dh_Lib;

insert_after('dh_install', 'dh_venvdeb');

remove_command($_) for qw(dh_auto_build dh_auto_test dh_auto_install dh_auto_clean);

# Every venv prefix this source package can install: the default root plus
# each `prefix = "..."` in the [venv] table of debian/venvdeb.toml and
# debian/*.venvdeb.toml (the files dh_venvdeb reads).
sub venvdeb_prefixes {
	my %prefixes = ('/opt/venvs/' => 1);
	for my $file (sort(glob('debian/venvdeb.toml'), glob('debian/*.venvdeb.toml'))) {
		open(my $fd, '<', $file) or error("open($file): $!");
		my $table = '';
		while (my $line = <$fd>) {
			if ($line =~ m/^\s*\[\s*([^\]\s]+)\s*\]/) {
				$table = $1;
				next;
			}
			next if $table ne 'venv';
			if ($line =~ m/^\s*prefix\s*=\s*(?:"([^"]*)"|'([^']*)')/) {
				my $prefix = defined($1) ? $1 : $2;
				$prefix =~ s{/*$}{/};
				error("$file: [venv] prefix \"$prefix\" is not an absolute path")
					if $prefix !~ m{^/[^/]};
				$prefixes{$prefix} = 1;
			}
		}
		close($fd);
	}
	return sort(keys(%prefixes));
}

my @exclude = map { "-X$_" } venvdeb_prefixes();
for my $command (qw(dh_strip dh_dwz dh_strip_nondeterminism dh_makeshlibs dh_fixperms)) {
	add_command_options($command, @exclude);
}
add_command_options('dh_python3', '--no-shebang-rewrite');

1;
