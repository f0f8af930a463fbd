import TMEOpsArchive
import XCTest

final class PathPatternTests: XCTestCase {
    func testSegmentsAndDoubleStar() {
        XCTAssertTrue(PathPattern("*.md").matches("README.md"))
        XCTAssertFalse(PathPattern("*.md").matches("docs/README.md"), "* stays within a segment")
        XCTAssertTrue(PathPattern("**/*.md").matches("docs/deep/README.md"))
        XCTAssertTrue(PathPattern("**/*.md").matches("README.md"), "** matches zero segments")
        XCTAssertTrue(PathPattern("**/*turbopack*").matches(".next/server/chunks/turbopack-runtime.js"))
        XCTAssertTrue(PathPattern("node_modules/**").matches("node_modules/a/b.js"))
        XCTAssertFalse(PathPattern("node_modules/**").matches("node_modules"))
        XCTAssertTrue(PathPattern("a/**/z").matches("a/z"))
        XCTAssertTrue(PathPattern("a/**/z").matches("a/b/c/z"))
        XCTAssertFalse(PathPattern("a/**/z").matches("a/b/c/y"))
        XCTAssertTrue(PathPattern("file?.[ch]").matches("file1.c"))
        XCTAssertTrue(PathPattern("\\*literal").matches("*literal"))
        XCTAssertFalse(PathPattern("\\*literal").matches("xliteral"))
        XCTAssertTrue(PathPattern("*").matches(".env"), "like Go's filepath.Match, * matches a leading dot")
    }

    func testPatternsAreCleanedLikeDockerDoes() {
        XCTAssertTrue(PathPattern("/foo/bar").matches("foo/bar"))
        XCTAssertTrue(PathPattern("./foo/../bar").matches("bar"))
        XCTAssertTrue(PathPattern("foo//bar/").matches("foo/bar"))
    }

    func testDockerIgnoreLastMatchWinsAndParentsExcludeChildren() {
        let rules = DockerIgnore(
            text: """
                # comment
                node_modules
                *.log
                !important.log
                docs/**
                !docs/keep.md
                  .git
                Dockerfile

                """)
        XCTAssertTrue(rules.excludes("node_modules"))
        XCTAssertTrue(rules.excludes("node_modules/react/index.js"), "excluding a folder excludes what is in it")
        XCTAssertTrue(rules.excludes("debug.log"))
        XCTAssertFalse(rules.excludes("important.log"))
        XCTAssertTrue(rules.excludes("docs/a.md"))
        XCTAssertFalse(rules.excludes("docs/keep.md"))
        XCTAssertTrue(rules.excludes(".git/HEAD"))
        XCTAssertFalse(rules.excludes("src/app.ts"))
        XCTAssertTrue(rules.excludes("Dockerfile"))
        XCTAssertFalse(rules.keeping(["Dockerfile", ".dockerignore"]).excludes("Dockerfile"), "the CLI always sends the Dockerfile")
        XCTAssertTrue(rules.mayReinclude(under: "docs"), "!docs/keep.md lies below docs")
        XCTAssertFalse(rules.mayReinclude(under: "node_modules"), "nothing re-includes below node_modules, so it is skipped whole")
        XCTAssertTrue(DockerIgnore(text: "a\n!**/keep\n").mayReinclude(under: "a"))
    }
}
