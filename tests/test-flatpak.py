#!/usr/bin/env python3
"""test-flatpak.py — what can be checked of the Flatpak manifests without building them.

Each manifest must parse (flatpak-builder --show-manifest), pin every source by hash, name the
project's app id and command, and grant exactly the permissions flatpak/README.md documents; Mien's
own module must build this checkout with options meson.build has (and the ones the Flatpak needs);
its OpenCV must run the YuNet model Mien pins, and the YuNet file it ships must be that one; the
CUDA manifest must differ from the CPU one in its modules only; the desktop file and the metainfo
must carry the same app id, and the metainfo must validate with its screenshots, releases and
content rating. Every check also runs on a copy broken for it, which it must reject: a check that
cannot fail proves nothing.

Usage: test-flatpak.py SOURCE_ROOT APP_ID. TAP on stdout; skipped without flatpak-builder.
"""

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

MANIFESTS = ['io.github.mienapp.Mien.json', 'io.github.mienapp.Mien.Cuda.json']
COMMAND = 'mien'
# Never, whatever the table says: the whole device tree, the user's files, the host's system,
# unfiltered D-Bus.
FORBIDDEN = re.compile(r'^--(device=all|filesystem=(home|host|host-os|host-etc|/)(:.*)?'
                       r'|filesystem=~/?(:.*)?|socket=(session-bus|system-bus))$')
# Sources that are part of the checkout or inline, rather than fetched.
LOCAL_TYPES = {'dir', 'script', 'shell', 'inline'}


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = False

    def result(self, good, name, why=()):
        self.n += 1
        print(('ok' if good else 'not ok') + f' {self.n} - {name}')
        if not good:
            self.failed = True
            for line in why:
                print('# ' + line)

    def skip(self, name, reason):
        self.n += 1
        print(f'ok {self.n} - {name} # SKIP {reason}')


def show_manifest(path, env):
    """The manifest as flatpak-builder reads it (module files inlined), or its error."""
    # From HOME: flatpak-builder makes its state folder (.flatpak-builder) where it runs.
    proc = subprocess.run(['flatpak-builder', '--show-manifest', os.path.abspath(path)],
                          env=env, cwd=env['HOME'], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return None, (proc.stderr or proc.stdout).strip()
    return json.loads(proc.stdout), None


def modules_of(manifest):
    """Every module, nested ones included, as (path, module)."""
    def walk(modules, prefix):
        for module in modules:
            if isinstance(module, str):
                # Only happens for a file flatpak-builder could not inline.
                yield f'{prefix}{module}', {'name': module, 'sources': []}
                continue
            path = f'{prefix}{module.get("name", "?")}'
            yield path, module
            yield from walk(module.get('modules', []), path + '/')
    return list(walk(manifest.get('modules', []), ''))


# ---- The checks: each returns the list of what is wrong (empty: fine) -------------------------

def check_sources(manifest):
    problems = []
    for path, module in modules_of(manifest):
        for i, source in enumerate(module.get('sources', [])):
            where = f'module {path}, source {i + 1}'
            if isinstance(source, str):
                problems.append(f'{where}: an external sources file ({source}) is not checked')
                continue
            kind = source.get('type', '')
            if kind == 'git':
                if not re.fullmatch(r'[0-9a-f]{40}', source.get('commit', '')):
                    problems.append(f'{where}: a git source needs a full "commit"')
            elif kind in LOCAL_TYPES or (kind in ('file', 'patch') and 'path' in source):
                pass
            elif not re.fullmatch(r'[0-9a-f]{64}', source.get('sha256', '')):
                problems.append(f'{where}: {source.get("url", kind)} has no sha256')
            url = source.get('url')
            if url is not None and not url.startswith('https://'):
                problems.append(f'{where}: {url} is not https')
            for mirror in source.get('mirror-urls', []):
                if not mirror.startswith('https://'):
                    problems.append(f'{where}: mirror {mirror} is not https')
    if not modules_of(manifest):
        problems.append('no modules')
    return problems


def check_identity(manifest, app_id):
    problems = []
    got_id = manifest.get('id', manifest.get('app-id'))
    if got_id != app_id:
        problems.append(f'app id {got_id!r}, meson.build says {app_id!r}')
    if manifest.get('command') != COMMAND:
        problems.append(f'command {manifest.get("command")!r}, expected {COMMAND!r}')
    return problems


def documented_finish_args(readme):
    """The `--...` of the first column of flatpak/README.md's permissions table."""
    section = re.search(r'^## Permissions.*?(?=^## )', readme, re.M | re.S)
    if section is None:
        return None
    return re.findall(r'^\| `(--[^`]+)` \|', section.group(0), re.M)


def check_finish_args(manifest, documented):
    if documented is None:
        return ['flatpak/README.md has no "## Permissions" table']
    args = manifest.get('finish-args', [])
    problems = [f'{a} is forbidden' for a in args if FORBIDDEN.match(a)]
    problems += [f'{a} is not documented in flatpak/README.md' for a in args
                 if a not in documented]
    problems += [f'{a} is documented but not granted' for a in documented if a not in args]
    problems += [f'{a} is granted twice' for a in set(args) if args.count(a) > 1]
    return problems


def check_same_app(cpu, cuda):
    """The CUDA manifest is the same app: only its modules (their sources) may differ."""
    problems = []
    for key in sorted(set(cpu) | set(cuda)):
        if key != 'modules' and cpu.get(key) != cuda.get(key):
            problems.append(f'"{key}" differs: {cpu.get(key)!r} / {cuda.get(key)!r}')
    names = [p for p, _ in modules_of(cpu)], [p for p, _ in modules_of(cuda)]
    if names[0] != names[1]:
        problems.append(f'modules differ: {names[0]} / {names[1]}')
    return problems


# What the Mien module must ask meson for: the libtorch the manifest puts into /app, no tests
# (the SDK cannot run them), no parity references, data-parallel training where it can be built.
MIEN_OPTIONS = {'libtorch': '/app', 'tests': 'false', 'parity': 'disabled', 'distributed': 'auto'}


def meson_options(root):
    """meson.build's options (meson_options.txt and meson's own), by name."""
    proc = subprocess.run(['meson', 'introspect', '--buildoptions',
                           os.path.join(root, 'meson.build')],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return None
    return {option['name']: option for option in json.loads(proc.stdout)}


def option_value_problem(option, value):
    if option['type'] == 'boolean' and value not in ('true', 'false'):
        return 'is true or false'
    if 'choices' in option and value not in option['choices']:
        return 'is one of ' + ', '.join(option['choices'])
    return None


def check_mien_module(manifest, options):
    """Mien itself: meson on this checkout, with options meson.build has and takes."""
    mien = [m for _, m in modules_of(manifest) if m.get('name') == 'mien']
    if len(mien) != 1:
        return ['no (single) module named mien']
    module = mien[0]
    problems = []
    if module.get('buildsystem') != 'meson':
        problems.append(f'buildsystem {module.get("buildsystem")!r}, not meson')
    if {'type': 'dir', 'path': '..'} not in [{k: v for k, v in src.items() if k != 'skip'}
                                             for src in module.get('sources', [])
                                             if isinstance(src, dict)]:
        problems.append('its source is not this checkout (type dir, path "..")')
    given = {}
    for opt in module.get('config-opts', []):
        match = re.fullmatch(r'-D([\w.-]+)=(.*)', opt)
        if match is None:
            problems.append(f'{opt}: not -Dname=value')
            continue
        name, value = match.groups()
        given[name] = value
        if name not in options:
            problems.append(f'{opt}: meson.build has no option {name}')
        elif (why := option_value_problem(options[name], value)) is not None:
            problems.append(f'{opt}: the value of {name} {why}')
    problems += [f'-D{name}={value} is missing' for name, value in MIEN_OPTIONS.items()
                 if given.get(name) != value]
    return problems


def with_module_changed(manifest, name, change):
    """A copy of `manifest` where `change(module)` has altered the module(s) named `name`."""
    bad = copy.deepcopy(manifest)
    for _, module in modules_of(bad):
        if module.get('name') == name:
            change(module)
    return bad


def mien_with_opts(manifest, opts):
    return with_module_changed(manifest, 'mien',
                               lambda module: module.update({'config-opts': opts}))


def yunet_catalogue(root):
    """Mien's YuNet entry in core (app/core/mien-face-model.c): file name, URL, sha256."""
    with open(os.path.join(root, 'app', 'core', 'mien-face-model.c'), encoding='utf-8') as f:
        text = f.read()
    fields = {}
    for field in ('file_name', 'url', 'sha256'):
        # C's adjacent string literals, joined.
        match = re.search(rf'\.{field} = ((?:"[^"]*"\s*)+),', text)
        fields[field] = ''.join(re.findall(r'"([^"]*)"', match.group(1))) if match else None
    return fields


def pinned_yunet(root):
    """The YuNet release Mien downloads ("2022mar")."""
    match = re.fullmatch(r'face_detection_yunet_(\d{4}[a-z]{3})\.onnx',
                         yunet_catalogue(root)['file_name'] or '')
    return match.group(1) if match else None


def check_yunet_shipped(manifest, catalogue):
    """The YuNet file the Flatpak ships is the one Mien would download (same URL and digest),
    installed where mien_face_model_get_default_path () looks: /app/share/mien/models."""
    modules = [m for _, m in modules_of(manifest) if m.get('name') == 'yunet']
    if len(modules) != 1:
        return ['no (single) module named yunet']
    sources = [src for src in modules[0].get('sources', []) if isinstance(src, dict)]
    problems = []
    if [(src.get('url'), src.get('sha256')) for src in sources] != \
       [(catalogue['url'], catalogue['sha256'])]:
        problems.append(f'its source is not Mien\'s catalogue entry {catalogue["url"]} '
                        f'({catalogue["sha256"]})')
    target = '${FLATPAK_DEST}/share/mien/models/' + (catalogue['file_name'] or '?')
    if not any(target in command for command in modules[0].get('build-commands', [])):
        problems.append(f'it is not installed to {target}')
    return problems


def with_yunet_sha256(manifest, digest):
    def change(module):
        for source in module.get('sources', []):
            source['sha256'] = digest
    return with_module_changed(manifest, 'yunet', change)


def check_opencv_fits_yunet(manifest, yunet):
    """OpenCV 4.8 rewrote FaceDetectorYN for YuNet's 2023mar model; the 2022mar one runs only on
    the OpenCV before it, and the newer model only on 4.8 and later."""
    opencv = [m for _, m in modules_of(manifest) if m.get('name') == 'opencv']
    urls = [src.get('url', '') for m in opencv for src in m.get('sources', [])
            if isinstance(src, dict)]
    versions = [tuple(int(x) for x in m.groups()) for u in urls
                if (m := re.search(r'/(\d+)\.(\d+)\.\d+\.tar\.gz$', u))]
    if len(versions) != 1:
        return [f'no single versioned OpenCV archive: {urls}']
    if yunet is None:
        return ['app/core/mien-face-model.c names no face_detection_yunet_*.onnx']
    new_api = versions[0] >= (4, 8)
    if new_api != (yunet >= '2023'):
        return [f'OpenCV {versions[0][0]}.{versions[0][1]} cannot run YuNet {yunet}, the model '
                'Mien pins (OpenCV 4.8 changed FaceDetectorYN for the 2023mar model)']
    return []


def with_opencv(manifest, version):
    def change(module):
        for source in module.get('sources', []):
            source['url'] = re.sub(r'/[\d.]+\.tar\.gz$', f'/{version}.tar.gz', source['url'])
    return with_module_changed(manifest, 'opencv', change)


def check_desktop_ids(root, app_id):
    problems = []
    data = os.path.join(root, 'data')
    desktop = os.path.join(data, app_id + '.desktop.in')
    metainfo = os.path.join(data, app_id + '.metainfo.xml.in')
    if not os.path.isfile(desktop):
        problems.append(f'no {desktop}')
    else:
        with open(desktop, encoding='utf-8') as f:
            if not re.search(rf'^Icon={re.escape(app_id)}$', f.read(), re.M):
                problems.append(f'{desktop}: Icon= is not {app_id}')
    try:
        component = ET.parse(metainfo).getroot()
    except (OSError, ET.ParseError) as e:
        return problems + [f'{metainfo}: {e}']
    if component.findtext('id') != app_id:
        problems.append(f'metainfo id {component.findtext("id")!r}, expected {app_id!r}')
    if component.findtext('launchable') != app_id + '.desktop':
        problems.append(f'metainfo launchable {component.findtext("launchable")!r}')
    return problems


# What a software centre shows, which appstreamcli only warns about (or not at all).
METAINFO_CONTENT = {
    'screenshots': ('screenshots/screenshot/image', 'no <screenshots> with an image'),
    'releases': ('releases/release[@version]', 'no <releases> with a release'),
    'content_rating': ('content_rating', 'no <content_rating>'),
}


def check_metainfo_content(path, tag):
    try:
        component = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        return [f'{path}: {e}']
    xpath, problem = METAINFO_CONTENT[tag]
    return [] if component.findall(xpath) else [problem]


def check_metainfo_valid(path, tmp):
    # appstreamcli wants the installed name (.metainfo.xml), not the .in template's.
    copy_path = os.path.join(tmp, os.path.basename(path).removesuffix('.in'))
    if copy_path != path:
        shutil.copyfile(path, copy_path)
    proc = subprocess.run(['appstreamcli', 'validate', '--no-net', '--explain', copy_path],
                          capture_output=True, text=True, check=False)
    return [] if proc.returncode == 0 else (proc.stdout + proc.stderr).strip().splitlines()


# ---- Broken copies ------------------------------------------------------------------------------

def first_archive(manifest):
    for _, module in modules_of(manifest):
        for source in module.get('sources', []):
            if isinstance(source, dict) and 'url' in source:
                return source
    raise LookupError('no source with a url')


def broken_nested_source(manifest):
    bad = copy.deepcopy(manifest)
    bad['modules'][-1].setdefault('modules', []).append(
        {'name': 'nested', 'buildsystem': 'simple', 'build-commands': [],
         'sources': [{'type': 'archive', 'url': 'https://example.org/x.tar.gz'}]})
    return bad


def broken_http(manifest):
    bad = copy.deepcopy(manifest)
    source = first_archive(bad)
    source['url'] = 'http://' + source['url'].removeprefix('https://')
    return bad


def with_changes(manifest, **changes):
    bad = copy.deepcopy(manifest)
    bad.update(changes)
    return bad


def metainfo_without(path, tag, tmp):
    tree = ET.parse(path)
    root = tree.getroot()
    for element in root.findall(tag):
        root.remove(element)
    out = os.path.join(tmp, f'without-{tag}.metainfo.xml')
    tree.write(out, encoding='unicode')
    return out


def expect(tap, name, problems, broken_problems):
    tap.result(not problems, name, problems)
    tap.result(bool(broken_problems), f'{name}: a broken copy is rejected',
               ['the check accepted a copy made to fail it'])


def main():
    root, app_id = sys.argv[1], sys.argv[2]
    tap = Tap()
    if shutil.which('flatpak-builder') is None:
        print('1..0 # SKIP flatpak-builder is not installed (Debian: flatpak-builder)')
        return 0

    tmp = tempfile.mkdtemp(prefix='mien-flatpak-')
    try:
        # flatpak-builder keeps state under HOME and the XDG folders: a fresh set, so that the
        # test runs as root in a bare container and leaves nothing behind.
        env = dict(os.environ)
        for var, sub in (('HOME', 'home'), ('XDG_CACHE_HOME', 'cache'),
                         ('XDG_DATA_HOME', 'data'), ('XDG_CONFIG_HOME', 'config')):
            env[var] = os.path.join(tmp, sub)
            os.makedirs(env[var])
        flatpak_dir = os.path.join(root, 'flatpak')
        with open(os.path.join(flatpak_dir, 'README.md'), encoding='utf-8') as f:
            documented = documented_finish_args(f.read())

        manifests = {}
        for name in MANIFESTS:
            manifest, error = show_manifest(os.path.join(flatpak_dir, name), env)
            tap.result(manifest is not None, f'{name} parses (flatpak-builder --show-manifest)',
                       (error or '').splitlines())
            manifests[name] = manifest
        # A copy with a syntax error beside the real module files.
        broken = os.path.join(flatpak_dir, MANIFESTS[0])
        with open(broken, encoding='utf-8') as f:
            text = f.read()
        broken_copy = os.path.join(tmp, 'broken.json')
        with open(broken_copy, 'w', encoding='utf-8') as f:
            f.write(text.replace('"command":', '"command"', 1))
        tap.result(show_manifest(broken_copy, env)[0] is None,
                   'a manifest with a syntax error does not parse')

        for name, manifest in manifests.items():
            if manifest is None:
                tap.skip(f'{name}: its checks', 'it does not parse')
                continue
            expect(tap, f'{name}: every source is pinned by sha256 (or local) and https',
                   check_sources(manifest), check_sources(broken_nested_source(manifest)))
            tap.result(bool(check_sources(broken_http(manifest))),
                       f'{name}: a plain-http url is rejected', ['accepted'])
            expect(tap, f'{name}: app id {app_id} (meson.build) and command {COMMAND}',
                   check_identity(manifest, app_id),
                   check_identity(with_changes(manifest, command='mien-cli'), app_id) and
                   check_identity(with_changes(manifest, id=app_id + '.Devel'), app_id))
            args = manifest.get('finish-args', [])
            expect(tap, f'{name}: finish-args are the ones flatpak/README.md documents',
                   check_finish_args(manifest, documented),
                   check_finish_args(with_changes(manifest, **{'finish-args': args[1:]}),
                                     documented))
            forbidden = [a for a in ('--device=all', '--filesystem=home', '--filesystem=host',
                                     '--filesystem=host-os', '--socket=session-bus')
                         if not check_finish_args(
                             with_changes(manifest, **{'finish-args': args + [a]}),
                             documented + [a])]
            tap.result(not forbidden, f'{name}: forbidden finish-args are refused even when '
                       'documented', [f'{a} accepted' for a in forbidden])

        options = meson_options(root) if shutil.which('meson') else None
        for name, manifest in manifests.items():
            if manifest is None:
                continue
            if options is None:
                tap.skip(f'{name}: the mien module', 'meson cannot introspect meson.build')
                continue
            opts = [o for _, m in modules_of(manifest) if m.get('name') == 'mien'
                    for o in m.get('config-opts', [])]
            expect(tap, f'{name}: the mien module builds this checkout with options '
                   'meson.build has',
                   check_mien_module(manifest, options),
                   check_mien_module(mien_with_opts(manifest, opts + ['-Dtest=false']), options) and
                   check_mien_module(mien_with_opts(manifest, opts + ['-Dgui=yes']), options) and
                   check_mien_module(mien_with_opts(
                       manifest, [o for o in opts if not o.startswith('-Dtests=')]), options))

        yunet = pinned_yunet(root)
        for name, manifest in manifests.items():
            if manifest is not None:
                expect(tap, f'{name}: its OpenCV runs the YuNet model Mien pins ({yunet})',
                       check_opencv_fits_yunet(manifest, yunet),
                       check_opencv_fits_yunet(with_opencv(manifest, '4.12.0'), yunet)
                       if yunet is not None and yunet < '2023'
                       else check_opencv_fits_yunet(with_opencv(manifest, '4.6.0'), yunet))

        catalogue = yunet_catalogue(root)
        for name, manifest in manifests.items():
            if manifest is not None:
                expect(tap, f'{name}: it ships the YuNet file Mien pins, where Mien looks',
                       check_yunet_shipped(manifest, catalogue),
                       check_yunet_shipped(with_yunet_sha256(manifest, '0' * 64), catalogue))

        cpu, cuda = manifests[MANIFESTS[0]], manifests[MANIFESTS[1]]
        if cpu is not None and cuda is not None:
            expect(tap, 'the CUDA manifest is the same app (only modules differ)',
                   check_same_app(cpu, cuda),
                   check_same_app(cpu, with_changes(cuda, **{'runtime-version': '0'})))
            cpu_torch, cuda_torch = first_archive(cpu)['url'], first_archive(cuda)['url']
            tap.result('/cpu/' in cpu_torch and '/cu' in cuda_torch,
                       'the CUDA manifest pins a CUDA libtorch, the other a CPU one',
                       [cpu_torch, cuda_torch])

        metainfo = os.path.join(root, 'data', app_id + '.metainfo.xml.in')
        expect(tap, 'the desktop file and the metainfo carry the app id',
               check_desktop_ids(root, app_id), check_desktop_ids(root, app_id + '.Other'))
        for tag in METAINFO_CONTENT:
            expect(tap, f'the metainfo has <{tag}>', check_metainfo_content(metainfo, tag),
                   check_metainfo_content(metainfo_without(metainfo, tag, tmp), tag))
        if shutil.which('appstreamcli') is None:
            tap.skip('the metainfo validates', 'appstreamcli is not installed')
        else:
            unclosed = os.path.join(tmp, 'unclosed.metainfo.xml')
            with open(metainfo, encoding='utf-8') as f:
                text = f.read()
            with open(unclosed, 'w', encoding='utf-8') as f:
                f.write(text.replace('</component>', ''))
            expect(tap, 'the metainfo validates (appstreamcli validate)',
                   check_metainfo_valid(metainfo, tmp), check_metainfo_valid(unclosed, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f'1..{tap.n}')
    return 1 if tap.failed else 0


if __name__ == '__main__':
    sys.exit(main())
