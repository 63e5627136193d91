-- Content requests content-creator can take (`-- --request N`, default 1).
return {
    {
        type = "blog post",
        topic = "How small teams can use AI assistants without losing their own voice",
        audience = "founders and team leads of small companies",
        tone = "practical and friendly",
        words = 400,
        keywords = {"AI assistants", "small teams", "writing workflow"},
    },
    {
        type = "newsletter",
        topic = "Five habits that make remote meetings shorter",
        audience = "remote workers",
        tone = "light and concrete",
        words = 250,
        keywords = {"remote meetings", "agenda", "async updates"},
    },
    {
        type = "social post",
        topic = "Launching our open-source file organizer",
        audience = "developers",
        tone = "exciting but honest",
        words = 80,
        keywords = {"open source", "file organizer", "launch"},
    },
}
