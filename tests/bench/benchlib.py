"""benchlib.py - helpers shared by the archive-scale and resume benchmarks
(bench_archive.py, bench_resume.py, bench_resume_folders.py): the metadata-only
config over the first folders of a stamped corpus, and a cold page cache."""
import os
import subprocess


def write_metadata_cfg(path, out, corpus, files):
    """Config crawling the first files/500 folders d* of corpus (500 files each),
    metadata only, per file, into out."""
    dirs = sorted(os.path.join(corpus, d) for d in os.listdir(corpus) if d.startswith("d"))
    dirs = dirs[:max(1, files // 500)]
    with open(path, "w") as f:
        f.write("input:\n  folders: [%s]\n" % ", ".join('"%s"' % d for d in dirs))
        f.write("output:\n  folder: %s\n  id: a\n  write_pixeldata: false\n  volumes: false\n"
                "run:\n  progress: never\n" % out)


def drop_caches():
    """sync and drop the page cache; False when not permitted (not root)."""
    subprocess.run(["sync"])
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False
