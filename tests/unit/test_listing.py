# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The listing base, through a complete in-memory backend.

InMemoryBackend is the whole of what a vendor writes to get Cinder's two
listing methods: say what objects exist.
"""

import types

import fixtures
from oslo_utils import units

from manageable_driver import configuration
from manageable_driver import exception
from manageable_driver import listing
from manageable_driver import opts
from manageable_driver import records
from manageable_driver import references
from tests import base

VOL_ID = "0a3c7e2e-7f45-4b43-8c52-5f1b1a0b6a11"
SNAP_ID = "9c1d1e9e-1111-4c2c-9d3d-000000000001"


class InMemoryBackend(listing.ManageableListingMixin):
    def __init__(self, volumes=(), snapshots=(), conf=None):
        self.configuration = configuration.prepare(conf, opts.common_opts)
        self.volumes = list(volumes)
        self.snapshots = list(snapshots)

    def list_volume_records(self):
        return iter(self.volumes)

    def list_snapshot_records(self):
        return iter(self.snapshots)


def vol(name, size=units.Gi, **kwargs):
    return records.VolumeRecord(name=name, reference={"source-name": name},
                                size_bytes=size, **kwargs)


def page(backend, cinder_volumes=None, **kwargs):
    args = {"marker": None, "limit": None, "offset": None,
            "sort_keys": ["reference"], "sort_dirs": ["asc"]}
    args.update(kwargs)
    return backend.get_manageable_volumes(
        cinder_volumes, args["marker"], args["limit"], args["offset"],
        args["sort_keys"], args["sort_dirs"])


class EntryTest(base.TestCase):

    def test_exact_cinder_keys_and_rounding(self):
        backend = InMemoryBackend([
            vol("a", 1028 * units.Mi, extra_info={"uuid": "u1"}),
            vol("b", 0)])
        self.assertEqual([
            {"reference": {"source-name": "a"}, "size": 2,
             "safe_to_manage": True, "reason_not_safe": None,
             "cinder_id": None, "extra_info": {"uuid": "u1"}},
            # Cinder has no 0 GiB volume (issue 13).
            {"reference": {"source-name": "b"}, "size": 0,
             "safe_to_manage": False, "reason_not_safe": listing.EMPTY,
             "cinder_id": None, "extra_info": None},
        ], page(backend))

    def test_unreadable_size(self):
        backend = InMemoryBackend([vol("a", None, size_error="EIO")])
        entry, = page(backend)
        self.assertIsNone(entry["size"])
        self.assertFalse(entry["safe_to_manage"])
        self.assertEqual("size unreadable: EIO", entry["reason_not_safe"])

    def test_entries_do_not_share_the_records_dicts(self):
        rec = vol("a", extra_info={"k": "v"})
        entry, = page(InMemoryBackend([rec]))
        entry["reference"]["source-name"] = "changed"
        entry["extra_info"]["k"] = "changed"
        self.assertEqual({"source-name": "a"}, rec.reference)
        self.assertEqual({"k": "v"}, rec.extra_info)

    def test_snapshot_entries_carry_source_reference(self):
        snap = records.SnapshotRecord(
            name="snap1", reference={"source-name": "snap1"},
            size_bytes=units.Gi + 1,
            source_reference={"source-name": "vol1"})
        backend = InMemoryBackend(snapshots=[snap])
        entries = backend.get_manageable_snapshots(
            [], None, None, None, ["reference"], ["asc"])
        self.assertEqual([{
            "reference": {"source-name": "snap1"}, "size": 2,
            "safe_to_manage": True, "reason_not_safe": None,
            "cinder_id": None, "extra_info": None,
            "source_reference": {"source-name": "vol1"}}], entries)

    def test_backend_without_snapshots_lists_none(self):
        class VolumesOnly(listing.ManageableListingMixin):
            configuration = configuration.prepare(None, opts.common_opts)

            def list_volume_records(self):
                return []

        self.assertEqual([], VolumesOnly().get_manageable_snapshots(
            None, None, None, None, None, None))

    def test_listing_is_paginated(self):
        backend = InMemoryBackend([vol("lv%d" % i, i * units.Gi)
                                   for i in range(10)])
        entries = page(backend, marker={"source-name": "lv3"}, limit=2,
                       offset=1, sort_keys=["size"], sort_dirs=["desc"])
        self.assertEqual([{"source-name": "lv1"}, {"source-name": "lv0"}],
                         [e["reference"] for e in entries])


class VerdictTest(base.TestCase):

    def test_managed_by_template_of_id(self):
        backend = InMemoryBackend([vol("volume-" + VOL_ID), vol("free")])
        entries = page(backend, [{"id": VOL_ID}])
        # Sorted by reference: "free" before "volume-...".
        self.assertEqual(
            [(True, None, None), (False, "already managed", VOL_ID)],
            [(e["safe_to_manage"], e["reason_not_safe"], e["cinder_id"])
             for e in entries])

    def test_managed_by_object_name_after_migration(self):
        # A migrated volume keeps its id but its backend name follows
        # name_id; Cinder objects expose that as .name.
        other = "11111111-2222-3333-4444-555555555555"
        cinder_volume = types.SimpleNamespace(id=VOL_ID,
                                              name="volume-" + other)
        entry, = page(InMemoryBackend([vol("volume-" + other)]),
                      [cinder_volume])
        self.assertEqual(VOL_ID, entry["cinder_id"])
        self.assertEqual("already managed", entry["reason_not_safe"])

    def test_custom_template(self):
        conf = configuration.Configuration()
        conf.append_config_values(opts.common_opts)
        conf._conf.set_override("volume_name_template", "v_%s.img")
        backend = InMemoryBackend([vol("v_%s.img" % VOL_ID)], conf=conf)
        entry, = page(backend, [{"id": VOL_ID}])
        self.assertEqual(VOL_ID, entry["cinder_id"])

    def test_backend_record_of_management(self):
        entry, = page(InMemoryBackend([vol("lv", cinder_id=VOL_ID)]))
        self.assertEqual((False, "already managed", VOL_ID),
                         (entry["safe_to_manage"], entry["reason_not_safe"],
                          entry["cinder_id"]))

    def test_cinder_name_of_the_other_kind_is_not_free(self):
        entry, = page(InMemoryBackend([vol("snapshot-" + SNAP_ID)]), [])
        self.assertFalse(entry["safe_to_manage"])
        self.assertIsNone(entry["cinder_id"])
        self.assertIn(SNAP_ID, entry["reason_not_safe"])
        self.assertIn("Cinder snapshot", entry["reason_not_safe"])

    def test_volume_name_is_never_a_free_snapshot(self):
        snap = records.SnapshotRecord(
            name="volume-" + VOL_ID,
            reference={"source-name": "volume-" + VOL_ID}, size_bytes=1,
            source_reference={"source-name": "x"})
        entry, = InMemoryBackend(snapshots=[snap]).get_manageable_snapshots(
            [], None, None, None, ["reference"], ["asc"])
        self.assertFalse(entry["safe_to_manage"])
        self.assertIn("Cinder volume %s: never free as a snapshot" % VOL_ID,
                      entry["reason_not_safe"])

    def test_cinder_name_of_own_kind_not_managed_is_free(self):
        # What unmanage leaves: Cinder's round trip manages it back.
        entry, = page(InMemoryBackend([vol("volume-" + VOL_ID)]), [])
        self.assertTrue(entry["safe_to_manage"])
        self.assertIsNone(entry["cinder_id"])
        self.assertIn("volume_name_template",
                      entry["extra_info"][listing.CINDER_MADE])
        self.assertIn(VOL_ID, entry["extra_info"][listing.CINDER_MADE])

    def test_nfs_derived_names(self):
        info = "volume-%s.info" % VOL_ID
        snap_file = "volume-%s.%s" % (VOL_ID, SNAP_ID)
        backend = InMemoryBackend([vol(info), vol(snap_file)])
        entries = {e["reference"]["source-name"]: e for e in page(backend)}
        self.assertIn("snapshot index of volume %s" % VOL_ID,
                      entries[info]["reason_not_safe"])
        self.assertIn("Cinder snapshot %s" % SNAP_ID,
                      entries[snap_file]["reason_not_safe"])
        snaps = [records.SnapshotRecord(
            name=name, reference={"source-name": name}, size_bytes=1,
            source_reference={"source-name": "x"})
            for name in (info, snap_file)]
        backend = InMemoryBackend(snapshots=snaps)
        entries = {e["reference"]["source-name"]: e
                   for e in backend.get_manageable_snapshots(
                       [], None, None, None, ["reference"], ["asc"])}
        self.assertFalse(entries[info]["safe_to_manage"])
        # A file the NFS driver keeps is not free even as its own kind ...
        self.assertIn("never free", entries[snap_file]["reason_not_safe"])
        # ... and is already managed when Cinder lists its snapshot.
        entries = {e["reference"]["source-name"]: e
                   for e in backend.get_manageable_snapshots(
                       [{"id": SNAP_ID}], None, None, None, ["reference"],
                       ["asc"])}
        self.assertEqual(SNAP_ID, entries[snap_file]["cinder_id"])

    def test_lvm_escaped_snapshot_name(self):
        entry, = page(InMemoryBackend([vol("_snapshot-" + SNAP_ID)]), [])
        self.assertFalse(entry["safe_to_manage"])
        self.assertIn("Cinder snapshot %s" % SNAP_ID,
                      entry["reason_not_safe"])

    def test_template_name_without_uuid_is_free(self):
        entry, = page(InMemoryBackend([vol("volume-data")]), [])
        self.assertTrue(entry["safe_to_manage"])

    def test_precedence_of_reasons(self):
        cases = [
            (dict(cinder_id=VOL_ID, unsafe_reason="snapshot", in_use=True),
             "already managed"),
            (dict(unsafe_reason="snapshot", in_use=True,
                  size_error="x"), "snapshot"),
            (dict(in_use=True, in_use_reason="open"), "open"),
            (dict(in_use=True), "in use"),
        ]
        for kwargs, reason in cases:
            with self.subTest(reason=reason):
                entry, = page(InMemoryBackend([vol("a", **kwargs)]))
                self.assertFalse(entry["safe_to_manage"])
                self.assertEqual(reason, entry["reason_not_safe"])

    def test_size_error_before_in_use(self):
        entry, = page(InMemoryBackend(
            [vol("a", None, size_error="EIO", in_use=True)]))
        self.assertEqual("size unreadable: EIO", entry["reason_not_safe"])

    def test_objects_without_id_are_ignored(self):
        entry, = page(InMemoryBackend([vol("a")]), [{"name": "a"}, {}])
        self.assertTrue(entry["safe_to_manage"])


class EnsureSafeTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.backend = InMemoryBackend()

    def test_safe_record_passes(self):
        self.assertIsNone(self.backend.ensure_safe(vol("a"),
                                                   {"source-name": "a"}))

    def test_already_managed(self):
        exc = self.assertRaises(
            exception.ManageExistingAlreadyManaged, self.backend.ensure_safe,
            vol("a", cinder_id=VOL_ID), {"source-name": "a"})
        self.assertIn("already managed", str(exc))

    def test_template_named_object_is_refused(self):
        # A snapshot's name is never free as a volume (issue 13: one name
        # space); as a snapshot it is what unmanage leaves.
        exc = self.assertRaises(
            exception.ManageExistingInvalidReference,
            self.backend.ensure_safe, vol("snapshot-" + SNAP_ID),
            {"source-name": "snapshot-" + SNAP_ID}, "volume")
        self.assertIn("not safe to manage", str(exc))
        self.assertIn(SNAP_ID, str(exc))
        self.backend.cinder_manages_lookup = listing.managed_lookup(())
        self.assertIsNone(self.backend.ensure_safe(
            vol("snapshot-" + SNAP_ID),
            {"source-name": "snapshot-" + SNAP_ID}, "snapshot"))

    def test_own_kind_cinder_name_asks_whether_cinder_manages_it(self):
        # Manage gets no managed list: "volume-A" for a new volume B
        # while Cinder manages A would give B the data of A.
        ref = {"source-name": "volume-" + VOL_ID}
        asked = []

        def lookup(kind, cinder_id):
            asked.append((kind, cinder_id))
            return True

        self.backend.cinder_manages_lookup = lookup
        self.assertRaises(exception.ManageExistingAlreadyManaged,
                          self.backend.ensure_safe, vol("volume-" + VOL_ID),
                          ref)
        self.assertEqual([("volume", VOL_ID)], asked)
        self.assertRaises(exception.ManageExistingAlreadyManaged,
                          self.backend.manageable_size,
                          vol("volume-" + VOL_ID), ref)
        self.backend.cinder_manages_lookup = listing.managed_lookup(
            [SNAP_ID])
        self.assertIsNone(self.backend.ensure_safe(vol("volume-" + VOL_ID),
                                                   ref))
        self.backend.cinder_manages_lookup = listing.managed_lookup(
            [VOL_ID])
        self.assertRaises(exception.ManageExistingAlreadyManaged,
                          self.backend.ensure_safe, vol("volume-" + VOL_ID),
                          ref)

    def test_own_kind_cinder_name_refused_when_nobody_can_tell(self):
        for name, kind, cinder_id in (
                ("volume-" + VOL_ID, "volume", VOL_ID),
                ("snapshot-" + SNAP_ID, "snapshot", SNAP_ID),
                ("_snapshot-" + SNAP_ID, "snapshot", SNAP_ID)):
            with self.subTest(name=name):
                exc = self.assertRaises(
                    exception.ManageExistingInvalidReference,
                    self.backend.ensure_safe, vol(name),
                    {"source-name": name}, kind)
                self.assertIn("Cinder %s %s" % (kind, cinder_id), str(exc))
                self.assertIn("cannot tell whether Cinder still manages",
                              str(exc))
                self.assertIn("--managed", str(exc))
        # A retried manage whose object already has its name: its own.
        name = "volume-" + VOL_ID
        self.assertIsNone(self.backend.ensure_safe(
            vol(name), {"source-name": name}, "volume", {"id": VOL_ID}))
        # Other names are not Cinder's: nothing to ask.
        self.assertIsNone(self.backend.ensure_safe(vol("a"),
                                                   {"source-name": "a"}))

    def test_zero_bytes_is_refused(self):
        exc = self.assertRaises(
            exception.ManageExistingInvalidReference,
            self.backend.manageable_size, vol("a", 0), {"source-name": "a"})
        self.assertIn("0 GiB", str(exc))

    def test_unsafe_reason_is_in_the_message(self):
        exc = self.assertRaises(
            exception.ManageExistingInvalidReference,
            self.backend.ensure_safe, vol("a", in_use=True,
                                          in_use_reason="open by pid 7"),
            {"source-name": "a"})
        self.assertEqual({"source-name": "a"}, exc.kwargs["existing_ref"])
        self.assertIn("not safe to manage: open by pid 7", str(exc))


class HelpersTest(base.TestCase):

    def test_id_from_name(self):
        cases = [("volume-%s", "volume-" + VOL_ID, VOL_ID),
                 ("volume-%s", "volume-" + VOL_ID.upper(), VOL_ID.upper()),
                 ("volume-%s", "volume-x", None),
                 ("volume-%s", "xvolume-" + VOL_ID, None),
                 ("%s.img", VOL_ID + ".img", VOL_ID),
                 ("%s.img", VOL_ID + ".img.bak", None),
                 ("fixed", "fixed", None),
                 ("%s-%s", VOL_ID + "-" + VOL_ID, None)]
        for template, name, expected in cases:
            with self.subTest(template=template, name=name):
                self.assertEqual(expected,
                                 listing.id_from_name(template, name))

    def test_field_reads_dicts_and_objects(self):
        self.assertEqual(1, references.field({"id": 1}, "id"))
        self.assertEqual(
            1, references.field(types.SimpleNamespace(id=1), "id"))
        self.assertIsNone(references.field(object(), "id"))


class PageTest(base.TestCase):

    def test_verdict_is_decided_for_the_page_only(self):
        decided = []
        real_assess = listing.assess

        def counting_assess(record, managed, template):
            decided.append(record.name)
            return real_assess(record, managed, template)

        self.useFixture(fixtures.MonkeyPatch(
            "manageable_driver.listing.assess", counting_assess))
        backend = InMemoryBackend(
            [vol("lv%03d" % i, i * units.Gi) for i in range(100)])
        entries = page(backend, limit=3, sort_keys=["size"],
                       sort_dirs=["desc"])
        self.assertEqual(["lv099", "lv098", "lv097"],
                         [e["reference"]["source-name"] for e in entries])
        self.assertEqual(["lv099", "lv098", "lv097"], decided)

    def test_only_reference_and_size_sort(self):
        backend = InMemoryBackend([vol("a"), vol("b")])
        exc = self.assertRaises(exception.InvalidInput, page, backend,
                                sort_keys=["safe_to_manage"])
        self.assertIn("unknown sort key 'safe_to_manage'", str(exc))
        self.assertEqual(
            [{"source-name": "b"}, {"source-name": "a"}],
            [e["reference"] for e in page(backend, sort_keys=["identifier"],
                                          sort_dirs=["desc"])])


class ArgumentsFirstTest(base.TestCase):

    def test_bad_arguments_are_refused_before_the_backend_is_asked(self):
        class Unreachable(InMemoryBackend):
            def list_volume_records(self):
                raise AssertionError("the backend was asked")

        backend = Unreachable()
        cases = [({"limit": -1}, "limit must not be negative"),
                 ({"offset": "2"}, "offset must be a non-negative"),
                 ({"marker": "{bad"}, "is not valid JSON"),
                 ({"sort_keys": ["name"]},
                  "unknown sort key 'name': sort by identifier, reference, "
                  "size"),
                 ({"sort_dirs": ["up"]}, "invalid sort direction 'up'")]
        for kwargs, message in cases:
            with self.subTest(kwargs=kwargs):
                exc = self.assertRaises(exception.InvalidInput, page,
                                        backend, **kwargs)
                self.assertIn(message, str(exc))

    def test_unknown_key_is_refused_on_an_empty_backend_too(self):
        self.assertRaises(exception.InvalidInput, page, InMemoryBackend(),
                          sort_keys=["cinder_id"])


class ManageableSizeTest(base.TestCase):

    def test_size_of_a_safe_record(self):
        self.assertEqual(2, InMemoryBackend().manageable_size(
            vol("a", units.Gi + 1), {"source-name": "a"}))

    def test_refuses_what_manage_refuses(self):
        backend = InMemoryBackend()
        self.assertRaises(exception.ManageExistingAlreadyManaged,
                          backend.manageable_size,
                          vol("a", cinder_id=VOL_ID), {"source-name": "a"})
        exc = self.assertRaises(exception.ManageExistingInvalidReference,
                                backend.manageable_size,
                                vol("a", None, size_error="EIO"),
                                {"source-name": "a"})
        self.assertIn("size unreadable: EIO", str(exc))


class CinderNameTest(base.TestCase):

    def test_names_and_ids(self):
        backend = InMemoryBackend()
        self.assertEqual("volume-" + VOL_ID, backend.cinder_name(
            {"id": VOL_ID, "name": "volume-" + VOL_ID}))
        self.assertEqual(VOL_ID, backend.cinder_id({"id": VOL_ID}))
        for obj in ({"id": "a", "name": "volume-a"}, {"name": "lv1"},
                    {"id": VOL_ID, "name": "snapshot-" + VOL_ID}):
            with self.subTest(obj=obj):
                self.assertRaises(exception.InvalidInput,
                                  backend.cinder_name, obj)
        for obj in ({"id": "a"}, {}, {"id": 5}):
            with self.subTest(obj=obj):
                self.assertRaises(exception.InvalidInput,
                                  backend.cinder_id, obj)
